import { createDataSource, isUuid } from '@app/persistence';
import { AuditLog } from './audit-log';
import { AuditKeys } from './keys';

/**
 * `node dist/libs/audit/src/cli.js verify <tenantId>` — verify a tenant's audit hash chain (exit 0 ok, 2 broken).
 * `node dist/libs/audit/src/cli.js export <tenantId>` — the log as JSON lines on stdout.
 * Reads DATABASE_URL (default the local database) and the audit keys (KEYHOLD_AUDIT_HMAC_KEY,
 * KEYHOLD_AUDIT_SIGNING_KEY, KEYHOLD_AUDIT_PREVIOUS_PUBLIC_KEYS). The operator's check, next to the HTTP endpoint;
 * a customer verifies with the keyhold-audit-verify package and only Keyhold's public key.
 */
async function main(): Promise<number> {
  const [cmd, tenantId] = process.argv.slice(2);
  if ((cmd !== 'verify' && cmd !== 'export') || !isUuid(tenantId)) {
    process.stderr.write('usage: cli.js verify|export <tenantId (uuid)>\n');
    return 64;
  }
  const ds = createDataSource(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/keyhold', {
    poolSize: 1,
    applicationName: 'keyhold-audit-cli',
  });
  await ds.initialize();
  try {
    const env = process.env;
    if (!env.KEYHOLD_AUDIT_HMAC_KEY || !env.KEYHOLD_AUDIT_SIGNING_KEY)
      throw new Error('KEYHOLD_AUDIT_HMAC_KEY and KEYHOLD_AUDIT_SIGNING_KEY are required');
    const keys = new AuditKeys({
      hmacKey: env.KEYHOLD_AUDIT_HMAC_KEY,
      signingKey: env.KEYHOLD_AUDIT_SIGNING_KEY,
      previousPublicKeys: env.KEYHOLD_AUDIT_PREVIOUS_PUBLIC_KEYS ?? '',
    });
    const log = new AuditLog(ds, keys);
    if (cmd === 'export') {
      for await (const line of log.exportJsonLines(tenantId)) process.stdout.write(line);
      return 0;
    }
    const v = await log.verify(tenantId);
    process.stdout.write(`${JSON.stringify(v)}\n`);
    return v.ok ? 0 : 2;
  } finally {
    await ds.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`audit cli failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
