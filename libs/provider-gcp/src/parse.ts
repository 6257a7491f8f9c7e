import { InvalidIdentifierError, type GcpKeyConfig } from '@app/provider-port';

const PROJECT = '[a-z][a-z0-9-]{4,28}[a-z0-9]';
const NAME = '[a-zA-Z0-9_-]{1,63}';
const KEY_NAME = new RegExp(`^projects/(${PROJECT})/locations/(${NAME})/keyRings/(${NAME})/cryptoKeys/(${NAME})$`);

export interface ParsedGcpKeyName {
  project: string;
  location: string;
  keyRing: string;
  cryptoKey: string;
  /** projects/{p}/locations/{l}/keyRings/{r} */
  keyRingName: string;
}

/** Parses a CryptoKey resource name exactly; a version suffix or any extra segment is rejected. */
export function parseGcpKeyName(raw: unknown): ParsedGcpKeyName {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new InvalidIdentifierError(
      'gcp.keyName',
      'keyName is required: projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>',
    );
  }
  if (/\/cryptoKeyVersions(\/|$)/.test(raw)) {
    throw new InvalidIdentifierError(
      'gcp.keyName',
      'keyName must name the CryptoKey, not a CryptoKeyVersion: drop the /cryptoKeyVersions/… suffix',
    );
  }
  const m = KEY_NAME.exec(raw);
  if (!m) {
    throw new InvalidIdentifierError(
      'gcp.keyName',
      'keyName must be projects/<project-id>/locations/<location>/keyRings/<ring>/cryptoKeys/<key> (project id: 6-30 lower-case letters, digits or dashes, starting with a letter; ring and key names: 1-63 letters, digits, _ or -)',
    );
  }
  return {
    project: m[1],
    location: m[2],
    keyRing: m[3],
    cryptoKey: m[4],
    keyRingName: `projects/${m[1]}/locations/${m[2]}/keyRings/${m[3]}`,
  };
}

/**
 * Parses what a tenant admin submits. The service account is not the tenant's to choose: it must be the one
 * Keyhold assigned to this tenant, or one tenant could make Keyhold use another tenant's grants (confused deputy).
 */
export function parseGcpKeyConfigInput(
  input: { keyName: unknown; serviceAccount: unknown },
  expectedServiceAccount: string,
): GcpKeyConfig {
  const parsed = parseGcpKeyName(input?.keyName);
  const sa = input?.serviceAccount;
  if (typeof sa !== 'string' || sa.length === 0) {
    throw new InvalidIdentifierError(
      'gcp.serviceAccount',
      `serviceAccount is required: it must be ${expectedServiceAccount}`,
    );
  }
  if (sa !== expectedServiceAccount) {
    throw new InvalidIdentifierError(
      'gcp.serviceAccount',
      `serviceAccount must be this tenant's Keyhold service account ${expectedServiceAccount}; another service account cannot be used`,
    );
  }
  return {
    provider: 'gcp',
    keyName: `projects/${parsed.project}/locations/${parsed.location}/keyRings/${parsed.keyRing}/cryptoKeys/${parsed.cryptoKey}`,
    serviceAccount: sa,
  };
}
