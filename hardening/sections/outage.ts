import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { AWS_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/aws';
import { configEnv, discardLogs, HttpClient, sleep, spawnWorker, startApi, WorkerProcess } from '../../stack';
import { startHardeningStack } from '../lib/stack';
import { seedTenant } from '../lib/world';
import { createAwsVendorCanary } from '../lib/vendor-canary';

/**
 * Outages that must neither cut service nor shred, on a stack of its own (probes every second, the KEK cache TTL
 * at its 300 s default, the lost-message poll at `pollMs`), with the real worker as a child process:
 *  1. vendor side, with a SINGLE customer: the vendor user's identity policy denies sts:AssumeRole (emulator vendor
 *     identity switch) for `vendorSeconds`; the vendor-owned canary fails the same way. Counted: workspaces ever
 *     seen shredded (`vendor_side_shreds`), and the time back to active once the Deny is removed;
 *  2. KMS outage: every AWS call throttled for `outageSeconds` (many probe intervals) while one workspace whose KEK
 *     is cached is asked for DEKs continuously and another, warmed just before, is asked once at the end. Counted:
 *     non-200 answers (`warm_dek_errors_during_kms_outage`);
 *  3. missed shred: a second API replica stops hearing pub/sub, a real revocation shreds a workspace whose KEK it
 *     caches; measured: seconds from the shred being visible in Postgres to the replica's purge
 *     (`missed_shred_purge_seconds`, goal ≤ the poll interval).
 */
export interface OutageOptions {
  vendorSeconds: number;
  outageSeconds: number;
  pollMs: number;
}

export interface OutageResult {
  probeIntervalSeconds: number;
  pollIntervalSeconds: number;
  vendorSideSeconds: number;
  vendorSideShreds: number;
  vendorSideHeldInSuspect: boolean;
  vendorCanaryReportedUnhealthy: boolean;
  vendorSideRecoveredSeconds: number | null;
  kmsOutageSeconds: number;
  warmDekFetchesDuringKmsOutage: number;
  warmDekErrorsDuringKmsOutage: number;
  idleWorkspaceServedAfterOutage: boolean;
  missedShredPurgeSeconds: number | null;
  details: string[];
}

const d = AWS_EMULATOR_DEFAULTS;
const DENY_ASSUME = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'sts:AssumeRole', Resource: '*' }] };

export async function runOutage(opts: OutageOptions): Promise<OutageResult> {
  const stack = await startHardeningStack({
    config: {
      probeIntervalSeconds: 1,
      probeConfirmationWindowSeconds: 2,
      probeConfirmations: 2,
      kekCachePollIntervalMs: opts.pollMs,
    },
  });
  const r: OutageResult = {
    probeIntervalSeconds: 1,
    pollIntervalSeconds: opts.pollMs / 1000,
    vendorSideSeconds: opts.vendorSeconds,
    vendorSideShreds: 0,
    vendorSideHeldInSuspect: false,
    vendorCanaryReportedUnhealthy: false,
    vendorSideRecoveredSeconds: null,
    kmsOutageSeconds: opts.outageSeconds,
    warmDekFetchesDuringKmsOutage: 0,
    warmDekErrorsDuringKmsOutage: 0,
    idleWorkspaceServedAfterOutage: false,
    missedShredPurgeSeconds: null,
    details: [],
  };
  const note = (s: string) => r.details.length < 40 && r.details.push(s);
  const workers: WorkerProcess[] = [];
  const clients: Array<{ destroy(): void }> = [];
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.emulators.admin.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`emulator admin ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  try {
    const canaryEnv = await createAwsVendorCanary(stack.emulators.aws.url, clients);
    const env = configEnv(stack.config, canaryEnv);
    const startWorker = async () => {
      const w = spawnWorker(env);
      workers.push(w);
      await w.ready;
      return w;
    };
    const stopWorkers = async () => {
      for (const w of workers.splice(0)) {
        w.kill('SIGTERM');
        if (!(await Promise.race([w.exited, sleep(10_000).then(() => null)]))) w.kill('SIGKILL');
      }
    };
    const state = async (wsId: string) =>
      (
        await stack.api.services.ds.query(`SELECT key_state AS s, degraded FROM workspaces WHERE id = $1`, [wsId])
      )[0] as { s: string; degraded: boolean };

    // 1. The vendor's own IAM breaks, with one customer on the installation.
    {
      const only = await seedTenant(stack, 'vendor-side');
      const warm = await stack.http.get(only.dekPath('v'), only.tokens.service);
      if (warm.status !== 200) throw new Error(`warming the vendor-side tenant: ${warm.status}`);
      await admin('PUT', `/aws/principals/${d.vendorAccessKeyId}/policies/deny-assume`, { policy: DENY_ASSUME });
      await startWorker(); // holds no role session yet: the next AssumeRole meets the Deny
      const until = Date.now() + opts.vendorSeconds * 1000;
      const seen = new Set<string>();
      while (Date.now() < until) {
        seen.add((await state(only.workspaceId)).s);
        await sleep(250);
      }
      r.vendorSideShreds = seen.has('shredded') || (await state(only.workspaceId)).s === 'shredded' ? 1 : 0;
      r.vendorSideHeldInSuspect = seen.has('access_suspect');
      const canaries = await stack.http.get('/v1/platform/vendor-canaries', stack.operatorToken);
      r.vendorCanaryReportedUnhealthy =
        canaries.body?.canaries?.some(
          (c: { provider: string; healthy: boolean }) => c.provider === 'aws' && !c.healthy,
        ) ?? false;
      await admin('DELETE', `/aws/principals/${d.vendorAccessKeyId}/policies/deny-assume`);
      const restoredAt = Date.now();
      while (Date.now() - restoredAt < 30_000) {
        if ((await state(only.workspaceId)).s === 'active') {
          r.vendorSideRecoveredSeconds = (Date.now() - restoredAt) / 1000;
          break;
        }
        await sleep(100);
      }
      if (r.vendorSideRecoveredSeconds === null)
        note(`vendor side: not active 30 s after the Deny was removed (${(await state(only.workspaceId)).s})`);
    }

    // 2. A KMS outage of many probe intervals.
    {
      const busy = await seedTenant(stack, 'outage-busy');
      const idle = await seedTenant(stack, 'outage-idle');
      const known = await stack.http.get(busy.dekPath('known'), busy.tokens.service);
      const idleKnown = await stack.http.get(idle.dekPath('idle'), idle.tokens.service);
      if (known.status !== 200 || idleKnown.status !== 200) throw new Error('warming the outage tenants failed');
      const fault = stack.emulators.faults.add({ cloud: 'aws', kind: 'throttle' });
      try {
        const until = Date.now() + opts.outageSeconds * 1000;
        let i = 0;
        while (Date.now() < until) {
          for (const seg of ['known', `new-${i++}`]) {
            const res = await stack.http.get(busy.dekPath(seg), busy.tokens.service);
            r.warmDekFetchesDuringKmsOutage++;
            if (res.status !== 200 || (seg === 'known' && res.body.dek !== known.body.dek)) {
              r.warmDekErrorsDuringKmsOutage++;
              note(`warm DEK during the KMS outage: ${res.status} ${res.body?.error?.code ?? ''}`);
            }
          }
          await sleep(100);
        }
        if (!(await state(busy.workspaceId)).degraded)
          note('the KMS outage was not felt by the probes (workspace never degraded)');
        const late = await stack.http.get(idle.dekPath('idle'), idle.tokens.service);
        r.idleWorkspaceServedAfterOutage = late.status === 200 && late.body.dek === idleKnown.body.dek;
        r.warmDekFetchesDuringKmsOutage++;
        if (!r.idleWorkspaceServedAfterOutage) {
          r.warmDekErrorsDuringKmsOutage++;
          note(`idle warm workspace at the end of the outage: ${late.status} ${late.body?.error?.code ?? ''}`);
        }
      } finally {
        stack.emulators.faults.remove(fault.id);
      }
    }

    // 3. A replica that misses the shred message.
    {
      const replica = await startApi(stack.config, { logDestination: discardLogs() });
      try {
        const http = new HttpClient(replica.url, replica.internalUrl);
        const victim = await seedTenant(stack, 'missed-shred');
        const first = await http.get(victim.dekPath('a'), victim.tokens.service);
        if (first.status !== 200 || !replica.services.kekCache.hasWorkspace(victim.workspaceId))
          throw new Error('the second replica did not cache the KEK');
        await replica.services.kekBus.detachSubscription();
        await stack.aws.kms.send(new DisableKeyCommand({ KeyId: victim.keyArn }));
        await stack.http.post(
          `${victim.base}/workspaces/${victim.workspaceId}/operations`,
          { kind: 'revocation-check' },
          victim.tokens.keyAdmin,
        );
        const deadline = Date.now() + 60_000;
        while ((await state(victim.workspaceId)).s !== 'shredded' && Date.now() < deadline) await sleep(20);
        const shreddedAt = Date.now();
        while (replica.services.kekCache.hasWorkspace(victim.workspaceId) && Date.now() - shreddedAt < opts.pollMs * 10)
          await sleep(20);
        if (replica.services.kekCache.hasWorkspace(victim.workspaceId))
          note('the deaf replica still held the shredded KEK after 10 poll intervals');
        else r.missedShredPurgeSeconds = (Date.now() - shreddedAt) / 1000;
      } finally {
        await replica.close();
      }
    }
    await stopWorkers();
  } finally {
    for (const w of workers) w.kill('SIGKILL');
    for (const c of clients) c.destroy();
    await stack.close();
  }
  return r;
}
