import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface GcpProviderSettings {
  /** Cloud KMS gRPC endpoint override (emulator); default cloudkms.googleapis.com:443. */
  kmsEndpoint?: { host: string; port: number };
  /** IAM Credentials API base URL override (emulator); default https://iamcredentials.googleapis.com. */
  iamCredentialsEndpoint?: string;
  /** Extra CA to trust for both endpoints (the emulator's self-signed certificate). */
  tlsCaPem?: string;
  /** Static vendor access token: emulator/dev only. Unset: Application Default Credentials. */
  vendorAccessToken?: string;
  /** The vendor project that holds one service account per tenant. */
  vendorProject: string;
  /** Deadline for one provider call, including bounded retries. */
  requestTimeoutMs: number;
  /** Retries of transient failures (UNAVAILABLE, DEADLINE_EXCEEDED) within the deadline. */
  maxRetries: number;
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/** Reads KEYHOLD_GCP_* variables. Every error names the variable at fault. */
export function loadGcpSettings(env: Record<string, string | undefined>): GcpProviderSettings {
  const vendorProject = env.KEYHOLD_GCP_VENDOR_PROJECT;
  if (!vendorProject)
    throw new Error('KEYHOLD_GCP_VENDOR_PROJECT is required (the project holding the per-tenant service accounts)');
  if (!PROJECT_ID.test(vendorProject))
    throw new Error('KEYHOLD_GCP_VENDOR_PROJECT must be a project id (6-30 chars, [a-z][a-z0-9-]*[a-z0-9])');
  const settings: { -readonly [K in keyof GcpProviderSettings]: GcpProviderSettings[K] } = {
    vendorProject,
    requestTimeoutMs: intVar(env, 'KEYHOLD_GCP_TIMEOUT_MS', 10_000, 100, 120_000),
    maxRetries: intVar(env, 'KEYHOLD_GCP_MAX_RETRIES', 2, 0, 10),
  };
  const endpoint = env.KEYHOLD_GCP_KMS_ENDPOINT;
  if (endpoint) {
    const m = /^([a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(endpoint);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535)
      throw new Error('KEYHOLD_GCP_KMS_ENDPOINT must be host:port (e.g. 127.0.0.1:4568)');
    settings.kmsEndpoint = { host: m[1], port };
  }
  const iam = env.KEYHOLD_GCP_IAM_ENDPOINT;
  if (iam) {
    let u: URL;
    try {
      u = new URL(iam);
    } catch {
      throw new Error('KEYHOLD_GCP_IAM_ENDPOINT must be an https URL');
    }
    if (u.protocol !== 'https:' || u.pathname !== '/' || u.search)
      throw new Error('KEYHOLD_GCP_IAM_ENDPOINT must be an https origin without a path');
    settings.iamCredentialsEndpoint = u.origin;
  }
  const caFile = env.KEYHOLD_GCP_CA_FILE;
  const caPem = env.KEYHOLD_GCP_CA_PEM;
  if (caFile && caPem) throw new Error('set either KEYHOLD_GCP_CA_FILE or KEYHOLD_GCP_CA_PEM, not both');
  if (caPem) {
    // In-process stacks (tests) hold the emulator CA in memory; deployments point at a file instead.
    if (!caPem.includes('BEGIN CERTIFICATE')) throw new Error('KEYHOLD_GCP_CA_PEM must hold a PEM certificate');
    settings.tlsCaPem = caPem;
  }
  if (caFile) {
    try {
      settings.tlsCaPem = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw new Error(`KEYHOLD_GCP_CA_FILE cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (!settings.tlsCaPem.includes('BEGIN CERTIFICATE'))
      throw new Error('KEYHOLD_GCP_CA_FILE must hold a PEM certificate');
  }
  const token = env.KEYHOLD_GCP_VENDOR_TOKEN;
  if (token !== undefined && token !== '') {
    if (!/^[\x21-\x7e]{8,4096}$/.test(token))
      throw new Error('KEYHOLD_GCP_VENDOR_TOKEN must be a bearer token (printable, no spaces)');
    settings.vendorAccessToken = token;
  }
  return settings;
}

function intVar(env: Record<string, string | undefined>, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in [${min}, ${max}]`);
  return n;
}

/**
 * One vendor service account per tenant, so a tenant's key grants only ever reach that tenant's work.
 * Account ids are limited to 30 characters: `keyhold-t-` + 20 hex of sha256(tenantId).
 */
export function serviceAccountForTenant(
  settings: Pick<GcpProviderSettings, 'vendorProject'>,
  tenantId: string,
): string {
  if (typeof tenantId !== 'string' || tenantId.length === 0) throw new Error('tenantId is required');
  const digest = createHash('sha256').update(tenantId, 'utf8').digest('hex').slice(0, 20);
  return `keyhold-t-${digest}@${settings.vendorProject}.iam.gserviceaccount.com`;
}
