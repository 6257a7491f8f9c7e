/**
 * `npm run bench [-- --quick]`: Keyhold's performance measurements against its own ceilings, on loopback only.
 * Every server runs in its own child process (emulators, API replicas with a bench preload, worker) and load comes
 * from autocannon in yet another, so the harness never shares an event loop with what it measures.
 * Prints a table (missed targets marked) and writes bench/results/latest.json. A section that cannot run (a part
 * of the product not built, a failed precondition) is reported as null with the reason; the run goes on.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { cleanRedisPrefix, CustomerAws, recreateDatabase, stopAll } from '../stack';
import { EmulatorAdmin } from './lib/emulator-admin';
import { productEnv, RunEnv } from './lib/env';
import { WebhookMailCapture } from '../apps/api/src/dev/onboarding-client';
import { KeyholdClient } from './lib/keyhold';
import { parseArgs } from './lib/mode';
import { measured, renderTable, SectionOutcome, skipped } from './lib/report';
import { ApiReplica, Emulators, Paths, startEmulatorChild } from './lib/stack';
import type { BenchContext, World } from './sections/context';
import { clientSection } from './sections/client';
import { coldPath } from './sections/cold';
import { dekFetch } from './sections/dek-fetch';
import { accessReasons } from './sections/access-reasons';
import { economy } from './sections/economy';
import { kekRotation, rewrap } from './sections/jobs';
import { memory } from './sections/memory';
import { revocation } from './sections/revocation';
import { seed } from './sections/seed';
import { scaling } from './sections/scaling';
import { siem } from './sections/siem';
import { lists } from './sections/lists';
import { onboardTenant } from '../apps/api/src/dev/onboarding-client';
import { buildTargets, assemble, carryOver, type Results } from './lib/results';

const SECTIONS = [
  'dek-fetch',
  'access-reasons',
  'cold',
  'memory',
  'economy',
  'rewrap',
  'kek-rotation',
  'revocation',
  'client',
  'siem',
  'lists',
  'scaling',
] as const;
type SectionName = (typeof SECTIONS)[number];

async function main(): Promise<number> {
  const { mode, only, profile } = parseArgs(process.argv.slice(2));
  if (only)
    for (const s of only)
      if (!(SECTIONS as readonly string[]).includes(s))
        throw new Error(`--only: unknown section "${s}" (sections: ${SECTIONS.join(', ')})`);
  const distBench = __dirname;
  const root = resolve(distBench, '..', '..');
  const resultsDir = join(root, 'bench', 'results');
  const paths: Paths = { root, distBench, logDir: join(resultsDir, 'logs'), resultsDir };
  mkdirSync(paths.logDir, { recursive: true });
  const startedAt = new Date();
  const loadStart = loadavg().map((x) => Math.round(x * 100) / 100);
  const t0 = Date.now();
  const log = (msg: string): void =>
    console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${msg}`);
  log(`mode ${mode.name}; logs in ${paths.logDir}`);

  const outcomes: Partial<Record<SectionName | 'seed', SectionOutcome<unknown>>> = {};
  const runId = randomBytes(4).toString('hex');
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/keyhold_bench';
  const redisUrl = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redisPrefix = `keyhold-bench-${runId}`;
  let emulators: Emulators | null = null;
  let control: ApiReplica | null = null;
  let customer: CustomerAws | null = null;
  let mail: WebhookMailCapture | null = null;
  try {
    emulators = await startEmulatorChild(paths, join(root, '.keyhold', 'bench-emulator-tls'));
    mail = await WebhookMailCapture.start();
    log(`emulators up: aws ${emulators.awsUrl}, admin ${emulators.adminUrl}`);
    const runEnv: RunEnv = {
      root,
      databaseUrl,
      redisUrl,
      redisPrefix,
      operatorToken: randomBytes(24).toString('base64url'),
      tokenSecret: randomBytes(48).toString('base64url'),
      auditHmacKey: randomBytes(32).toString('base64'),
      auditSigningKey: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      awsUrl: emulators.awsUrl,
      tlsCertFile: emulators.tlsCertFile,
      mailWebhookUrl: mail.url,
    };
    const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => productEnv(runEnv, extra);
    await recreateDatabase(databaseUrl);
    control = await ApiReplica.start(paths, 'api-control', env());
    customer = new CustomerAws(emulators.awsUrl);
    const client = new KeyholdClient(control.url, control.internalUrl);
    let world: World | null = null;
    let admin: { token: string; at: number } | null = null;
    const ctx: BenchContext = {
      mode,
      paths,
      emulators,
      admin: new EmulatorAdmin(emulators.adminUrl),
      customer,
      control,
      client,
      env,
      log,
      profile,
      async onboard(name: string) {
        const o = await onboardTenant(client.baseUrl, runEnv.operatorToken, {
          name,
          email: `${name}@bench.example.com`,
          mail: mail!.reader,
        });
        return {
          tenantId: o.tenant.id,
          token: o.token,
          trustedPrincipalArn: o.tenant.aws.trustedPrincipalArn,
          externalId: o.tenant.aws.externalId,
        };
      },
      async adminToken() {
        if (!world) throw new Error('no tenant yet');
        // access tokens live 15 minutes by default; refresh well before
        if (!admin || Date.now() - admin.at > 5 * 60_000)
          admin = {
            token: await client.adminToken(world.tenantId, world.admin.email, world.admin.password),
            at: Date.now(),
          };
        return admin.token;
      },
    };
    try {
      world = await seed(ctx, runEnv.operatorToken, mail.reader);
      outcomes.seed = measured({ seconds: (Date.now() - t0) / 1000 });
    } catch (err) {
      outcomes.seed = skipped(`seeding failed: ${(err as Error).message}`);
      log(`seeding failed: ${(err as Error).message}`);
    }
    const runners: Record<SectionName, (c: BenchContext, w: World) => Promise<unknown>> = {
      'dek-fetch': dekFetch,
      'access-reasons': accessReasons,
      cold: coldPath,
      memory,
      economy,
      rewrap,
      'kek-rotation': kekRotation,
      revocation,
      client: clientSection,
      scaling,
      siem,
      lists,
    };
    for (const name of SECTIONS) {
      if (only && !only.has(name)) {
        outcomes[name] = skipped('not selected (--only)');
        continue;
      }
      if (!world) {
        outcomes[name] = skipped(!outcomes.seed?.ok ? outcomes.seed.reason : 'no seeded population');
        continue;
      }
      const started = Date.now();
      log(`${name}: start`);
      try {
        outcomes[name] = measured(await runners[name](ctx, world));
        log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
      } catch (err) {
        outcomes[name] = skipped((err as Error).message);
        log(`${name}: could not run: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    const reason = `run could not start: ${(err as Error).message}`;
    log(reason);
    for (const name of SECTIONS) outcomes[name] ??= skipped(reason);
    outcomes.seed ??= skipped(reason);
  } finally {
    customer?.close();
    await mail?.close();
    await control?.stop().catch(() => undefined);
    await emulators?.child.stop().catch(() => undefined);
    await stopAll();
    await cleanRedisPrefix(redisUrl, redisPrefix).catch((err: unknown) =>
      log(`redis cleanup: ${(err as Error).message}`),
    );
  }

  const file = join(paths.resultsDir, 'latest.json');
  const prior = only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Results) : null;
  const assembled = assemble(outcomes, {
    mode: mode.name,
    started_at: startedAt.toISOString(),
    duration_s: Math.round((Date.now() - t0) / 100) / 10,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      total_mem_mb: Math.round(totalmem() / 2 ** 20),
      // other work on the machine distorts absolute numbers (ratios taken in the same run much less)
      loadavg_start: loadStart,
      loadavg_end: loadavg().map((x) => Math.round(x * 100) / 100),
    },
    quick_mode_settings:
      mode.name === 'quick'
        ? {
            revocation_probe: mode.revocationProbe,
            economy_ttl_s: mode.economyTtlSeconds,
            kek_rotation_deks: mode.kekRotationDeks,
            scale_workspaces: mode.scaleWorkspaces,
          }
        : null,
  });
  const results = carryOver(assembled, prior, only ? SECTIONS.filter((s) => !only.has(s)) : []);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\n${renderTable(buildTargets(results))}\n`);
  for (const [name, o] of Object.entries(outcomes)) if (o && !o.ok) console.log(`${name}: not measured — ${o.reason}`);
  console.log(`\nwrote ${file}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    console.error(`bench: ${(err as Error).message}`);
    await stopAll();
    process.exit(2);
  },
);
