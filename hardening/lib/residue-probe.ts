import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import type { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { openKekWithContext } from '../../libs/provider-azure/src';
import { canonicalContext, contextToMap, type WrapContext } from '../../libs/provider-port/src';

/**
 * The residue probe: what an attacker holding a dump of Keyhold's database and the owner's rights on one customer
 * key (A) can open. It collects every byte value stored in any row of any table that names a workspace (bytea
 * columns as they are; text and JSON strings as UTF-8 and, where they parse, as base64 and hex), then tries each
 * one as a wrapped KEK under key A, with every context Keyhold could have used (each KEK version, both purposes,
 * each key configuration the workspace was ever bound to). One cloud-specific `opener` per cloud; the scan and the
 * context list are shared, so the three clouds are held to exactly the same standard (the jobs tests use it per
 * cloud, the hardening suite on AWS).
 */

/** Anything that runs a parameterised query (a TypeORM DataSource, a pg pool). */
export interface Query {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}
export interface ResidueOpener {
  /** True when `bytes` opens under the owner's key with `contexts` (returns which did; plaintext is wiped). */
  open(bytes: Buffer, contexts: readonly WrapContext[]): Promise<number>;
}

export interface StoredValue {
  table: string;
  column: string;
  bytes: Buffer;
}

export interface ResidueReport {
  /** Distinct stored values tried. */
  values: number;
  /** (value, context) pairs tried. */
  tried: number;
  /** Pairs that opened: must be 0 for a shredded or destroyed workspace. */
  unwrapped: number;
  /** Where the openable values were stored (table.column). */
  hits: string[];
}

const BASE64 = /^[A-Za-z0-9+/_-]{16,}={0,2}$/;
const HEX = /^(\\x)?([0-9a-fA-F]{2}){8,}$/;

/** Every byte value stored in a row (of any table) whose text form mentions `workspaceId`. */
export async function storedValuesNaming(ds: Query, workspaceId: string): Promise<StoredValue[]> {
  const columns = (await ds.query(
    `SELECT table_name AS "table", column_name AS "column", data_type AS "type" FROM information_schema.columns
     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  )) as Array<{ table: string; column: string; type: string }>;
  const tables = [...new Set(columns.map((c) => c.table))];
  const out: StoredValue[] = [];
  for (const table of tables) {
    const rows = (await ds.query(
      `SELECT to_jsonb(t) AS r FROM "${table}" t WHERE to_jsonb(t)::text LIKE '%' || $1 || '%'`,
      [workspaceId],
    )) as Array<{ r: Record<string, unknown> }>;
    for (const { r } of rows) {
      for (const c of columns.filter((x) => x.table === table)) {
        const v = r[c.column];
        if (v === null || v === undefined) continue;
        if (c.type === 'bytea' && typeof v === 'string')
          out.push({ table, column: c.column, bytes: Buffer.from(v.replace(/^\\x/, ''), 'hex') });
        else for (const s of strings(v)) for (const b of decodings(s)) out.push({ table, column: c.column, bytes: b });
      }
    }
  }
  return out;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

function decodings(s: string): Buffer[] {
  const out = [Buffer.from(s, 'utf8')];
  if (HEX.test(s)) out.push(Buffer.from(s.replace(/^\\x/, ''), 'hex'));
  if (BASE64.test(s)) out.push(Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64'));
  return out.filter((b) => b.length > 0);
}

/** Every context Keyhold could have wrapped a KEK of this workspace under. */
export function plausibleContexts(
  tenantId: string,
  workspaceId: string,
  keyConfigurationIds: readonly string[],
  maxKekVersion: number,
): WrapContext[] {
  const out: WrapContext[] = [];
  for (let kekVersion = 0; kekVersion <= maxKekVersion + 1; kekVersion++)
    for (const keyConfigurationId of keyConfigurationIds)
      for (const purpose of ['workspace-kek', 'validation-probe'] as const)
        out.push({ tenantId, workspaceId, keyConfigurationId, kekVersion, purpose });
  return out;
}

/** Scan, then try every distinct value under every context with the owner's key. */
export async function probeResidue(
  ds: Query,
  opener: ResidueOpener,
  w: { tenantId: string; workspaceId: string; keyConfigurationIds: readonly string[]; maxKekVersion: number },
): Promise<ResidueReport> {
  const values = await storedValuesNaming(ds, w.workspaceId);
  const distinct = new Map<string, StoredValue>();
  for (const v of values) if (!distinct.has(v.bytes.toString('hex'))) distinct.set(v.bytes.toString('hex'), v);
  const contexts = plausibleContexts(w.tenantId, w.workspaceId, w.keyConfigurationIds, w.maxKekVersion);
  const report: ResidueReport = { values: distinct.size, tried: 0, unwrapped: 0, hits: [] };
  const all = [...distinct.values()];
  // A few at a time: the emulators are fast, the point is coverage, not load.
  for (let i = 0; i < all.length; i += 8) {
    const opened = await Promise.all(all.slice(i, i + 8).map((v) => opener.open(v.bytes, contexts)));
    opened.forEach((n, j) => {
      report.tried += contexts.length;
      report.unwrapped += n;
      if (n > 0) report.hits.push(`${all[i + j].table}.${all[i + j].column}`);
    });
  }
  return report;
}

/** AWS: the key's owner (customer account root) calls Decrypt with KeyId A and each context. */
export function awsOwnerOpener(kms: KMSClient, keyArn: string): ResidueOpener {
  return {
    async open(bytes, contexts) {
      let n = 0;
      for (const ctx of contexts) {
        try {
          const r = await kms.send(
            new DecryptCommand({ KeyId: keyArn, CiphertextBlob: bytes, EncryptionContext: contextToMap(ctx) }),
          );
          r.Plaintext?.fill(0);
          n++;
        } catch {
          // refused: the value is not a form under this key and context
        }
      }
      return n;
    },
  };
}

/** GCP: the customer project's owner calls Decrypt on key A with each context as additional authenticated data. */
export function gcpOwnerOpener(owner: KeyManagementServiceClient, keyName: string): ResidueOpener {
  return {
    async open(bytes, contexts) {
      let n = 0;
      for (const ctx of contexts) {
        try {
          const [r] = await owner.decrypt({
            name: keyName,
            ciphertext: bytes,
            additionalAuthenticatedData: canonicalContext(ctx),
          });
          if (r.plaintext) Buffer.from(r.plaintext as Uint8Array).fill(0);
          n++;
        } catch {
          // refused
        }
      }
      return n;
    },
  };
}

/**
 * Azure: RSA-OAEP has no AAD, so the owner (the customer's admin app) calls unwrapKey on each version of key A,
 * then checks Keyhold's context seal for each context. An unwrap that succeeds already hands the owner the KEK
 * (the seal only says which context it was made for), so any successful unwrap counts at least once.
 */
export function azureOwnerOpener(
  azure: { customerKeys(): KeyClient; cryptoAs(keyUrl: string, clientId: string, secret: string): CryptographyClient },
  keyName: string,
  keyId: string,
  clientId: string,
  secret: string,
): ResidueOpener {
  let versions: Promise<string[]> | undefined;
  const listVersions = async () => {
    const out: string[] = [];
    for await (const p of azure.customerKeys().listPropertiesOfKeyVersions(keyName)) if (p.version) out.push(p.version);
    return out;
  };
  return {
    async open(bytes, contexts) {
      versions ??= listVersions();
      let n = 0;
      for (const version of await versions) {
        let payload: Buffer;
        try {
          const r = await azure.cryptoAs(`${keyId}/${version}`, clientId, secret).unwrapKey('RSA-OAEP-256', bytes);
          payload = Buffer.from(r.result);
        } catch {
          continue;
        }
        let sealed = 0;
        for (const ctx of contexts) {
          try {
            openKekWithContext(Buffer.from(payload), ctx).fill(0);
            sealed++;
          } catch {
            // another context
          }
        }
        payload.fill(0);
        n += Math.max(1, sealed);
      }
      return n;
    },
  };
}
