import { DecryptCommand } from '@aws-sdk/client-kms';
import Redis from 'ioredis';
import { contextToMap } from '../../libs/provider-port/src';
import type { KeyMaterialLedger } from '../lib/key-material';
import type { HardeningStack } from '../lib/stack';

/**
 * Key material at rest: after everything else, every row of every Postgres table (bytea columns appear as hex
 * in the row text), every Redis key and value (strings, hashes, lists, sets, sorted sets, streams — BullMQ's job
 * data, failure reasons and stack traces included) and every captured log (API, worker, redis-server) is scanned
 * for the plaintext DEKs the suite was handed over the API, in hex and base64 at any offset. The scanner proves
 * itself first on planted material (a scanner that finds nothing can also be broken).
 */
export interface AtRestResult {
  keysLookedFor: number;
  /** Plaintext workspace KEKs recovered (as the customer, through the KMS) and added to the search. */
  keksRecovered: number;
  rowsScanned: number;
  redisKeysScanned: number;
  logBytesScanned: number;
  plaintextHits: number;
  where: string[];
  scannerSelfTest: boolean;
}

export async function runAtRest(
  stack: HardeningStack,
  ledger: KeyMaterialLedger,
  extraLogs: string[] = [],
): Promise<AtRestResult> {
  const keksRecovered = await recoverAwsKeks(stack, ledger);
  const r: AtRestResult = {
    keysLookedFor: ledger.size,
    keksRecovered,
    rowsScanned: 0,
    redisKeysScanned: 0,
    logBytesScanned: 0,
    plaintextHits: 0,
    where: [],
    scannerSelfTest: false,
  };
  const hit = (where: string, n: number) => {
    if (n <= 0) return;
    r.plaintextHits += n;
    if (r.where.length < 40) r.where.push(where);
  };

  // Self-test: the scanner must find a key planted in each form it claims to handle.
  const planted = new (ledger.constructor as new () => KeyMaterialLedger)();
  const probe = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff));
  planted.recordBytes(probe);
  const forms = [
    `x${probe.toString('hex')}y`,
    `"${probe.toString('hex').toUpperCase()}"`,
    `{"k":"${probe.toString('base64')}"}`,
    probe.toString('base64url'),
    `\\x00ff${probe.toString('hex')}`,
    `Uint8Array(32) [ ${[...probe].join(', ')} ]`,
    Buffer.concat([Buffer.from([1, 2]), probe, Buffer.from([3])]).toString('base64'),
  ];
  r.scannerSelfTest =
    forms.every((f) => planted.scan(f).hits === 1) &&
    planted.scanBytes(Buffer.concat([Buffer.from('abc'), probe])) >= 1 &&
    planted.scan('nothing here').hits === 0;

  for await (const row of stack.inspector.rowTexts()) {
    r.rowsScanned++;
    hit(`postgres table ${row.table}`, ledger.scan(row.text).hits);
  }

  const redis = new Redis(stack.config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    // A private Redis holds only this run's keys; on the shared one only this run's prefix is ours to read.
    const match = stack.redis ? '*' : `${stack.config.redisPrefix}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', match, 'COUNT', 500);
      cursor = String(next);
      for (const key of keys) {
        r.redisKeysScanned++;
        const name = key.toString('utf8');
        const values: Buffer[] = [key];
        const type = await redis.type(name);
        if (type === 'string') values.push((await redis.getBuffer(name)) ?? Buffer.alloc(0));
        else if (type === 'hash') {
          const h = await redis.hgetallBuffer(name);
          for (const [f, v] of Object.entries(h)) values.push(Buffer.from(f), v);
        } else if (type === 'list') values.push(...(await redis.lrangeBuffer(name, 0, -1)));
        else if (type === 'set') values.push(...(await redis.smembersBuffer(name)));
        else if (type === 'zset') values.push(...(await redis.zrangeBuffer(name, 0, -1)));
        else if (type === 'stream') {
          const entries = (await redis.xrangeBuffer(name, '-', '+')) as Array<[Buffer, Buffer[]]>;
          for (const [, fields] of entries) values.push(...fields);
        }
        for (const v of values) hit(`redis ${type} ${name.slice(0, 80)}`, ledger.scanBytes(v));
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }

  const logs: Array<[string, string]> = [
    ['api log', stack.logs()],
    ...extraLogs.map((l, i) => [`worker log ${i + 1}`, l] as [string, string]),
  ];
  if (stack.redis) logs.push(['redis-server log', stack.redis.log()]);
  for (const [name, text] of logs) {
    r.logBytesScanned += Buffer.byteLength(text);
    hit(name, ledger.scan(text).hits);
  }
  return r;
}

/**
 * The plaintext KEKs are never handed out by the API, so the suite recovers them the way only the customer can:
 * KMS Decrypt of each stored wrapped KEK, as the customer's root, under the exact encryption context Keyhold
 * binds (tenant, workspace, key configuration, KEK version, purpose). They join the DEKs in the search.
 */
async function recoverAwsKeks(stack: HardeningStack, ledger: KeyMaterialLedger): Promise<number> {
  const rows = await stack.api.services.ds.query<
    Array<{
      tenantId: string;
      workspaceId: string;
      kcId: string;
      version: number;
      wrapped: Buffer;
      config: Record<string, unknown>;
    }>
  >(
    `SELECT k.tenant_id AS "tenantId", k.workspace_id AS "workspaceId", k.key_configuration_id AS "kcId", k.version, k.wrapped, c.config
       FROM kek_versions k JOIN key_configurations c ON c.tenant_id = k.tenant_id AND c.id = k.key_configuration_id
      WHERE c.provider = 'aws'`,
  );
  let n = 0;
  for (const row of rows) {
    const keyArn = typeof row.config?.keyArn === 'string' ? row.config.keyArn : undefined;
    if (!keyArn) continue;
    try {
      const out = await stack.aws.kms.send(
        new DecryptCommand({
          KeyId: keyArn,
          CiphertextBlob: row.wrapped,
          EncryptionContext: contextToMap({
            tenantId: row.tenantId,
            workspaceId: row.workspaceId,
            keyConfigurationId: row.kcId,
            kekVersion: row.version,
            purpose: 'workspace-kek',
          }),
        }),
      );
      if (out.Plaintext?.length === 32) {
        ledger.recordBytes(Buffer.from(out.Plaintext));
        n++;
      }
    } catch {
      /* a KEK this suite cannot open (e.g. another format): it is simply not searched for */
    }
  }
  return n;
}
