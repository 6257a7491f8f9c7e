import { DisableKeyCommand, EnableKeyCommand } from '@aws-sdk/client-kms';
import { configEnv, sleep, spawnWorker, WorkerProcess } from '../../stack';
import { startHardeningStack } from '../lib/stack';
import { seedTenant } from '../lib/world';

/**
 * Propagation flapping against the real worker (its own stack: probes every second, 3 confirmations over a 3 s
 * window, so the flapping window is 4 × 3 s = 12 s). The AWS emulator's propagation switch serves each key state
 * change old or new at random (seeded) for `flapSeconds`:
 *  1. a key disabled by mistake and enabled again half a second later, each change flapping for less than the
 *     window: the workspace must never be shredded (`flapping_false_shreds`);
 *  2. a real revocation (DisableKey) flapping for `flapSeconds` (10 probe intervals): it must still shred
 *     (`revocations_missed` = 0), and the time from DisableKey to the shred is reported
 *     (`flapping_seconds_to_shred`) against the policy's bound, max(flapping window, 2 × flapping) + 1 probe interval.
 */
export interface FlappingOptions {
  /** How many seeded runs of each scenario. */
  runs: number;
  flapSeconds: number;
}

export interface FlappingResult {
  runs: number;
  probeIntervalSeconds: number;
  confirmationWindowSeconds: number;
  flapWindowSeconds: number;
  restoredFlapSeconds: number;
  flapSeconds: number;
  falseShreds: number;
  restoredRunsThatSawDenials: number;
  revocationsMissed: number;
  secondsToShred: number[];
  maxSecondsToShred: number | null;
  boundSeconds: number;
  details: string[];
}

const WINDOW_S = 3;

export async function runFlapping(opts: FlappingOptions): Promise<FlappingResult> {
  const stack = await startHardeningStack({
    config: { probeIntervalSeconds: 1, probeConfirmationWindowSeconds: WINDOW_S, probeConfirmations: 3 },
  });
  const flapWindow = 4 * WINDOW_S;
  const r: FlappingResult = {
    runs: opts.runs,
    probeIntervalSeconds: 1,
    confirmationWindowSeconds: WINDOW_S,
    flapWindowSeconds: flapWindow,
    restoredFlapSeconds: 2,
    flapSeconds: opts.flapSeconds,
    falseShreds: 0,
    restoredRunsThatSawDenials: 0,
    revocationsMissed: 0,
    secondsToShred: [],
    maxSecondsToShred: null,
    boundSeconds: Math.max(flapWindow, 2 * opts.flapSeconds) + 1,
    details: [],
  };
  const note = (s: string) => r.details.length < 40 && r.details.push(s);
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.emulators.admin.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`emulator admin ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const state = async (wsId: string) =>
    (
      (await stack.api.services.ds.query(`SELECT key_state AS s FROM workspaces WHERE id = $1`, [wsId]))[0] as {
        s: string;
      }
    ).s;
  let worker: WorkerProcess | null = null;
  try {
    worker = spawnWorker(configEnv(stack.config));
    await worker.ready;
    for (let run = 0; run < opts.runs; run++) {
      // 1. Disabled by mistake, enabled again 0.5 s later; each change flaps for 2 s (< the 3 s window).
      {
        const t = await seedTenant(stack, `flap-restored-${run}`);
        if ((await stack.http.get(t.dekPath('a'), t.tokens.service)).status !== 200)
          throw new Error('warming the restored tenant failed');
        await admin('PUT', '/propagation/aws', { delayMs: 0, flapMs: r.restoredFlapSeconds * 1000, seed: 1000 + run });
        await stack.aws.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
        await sleep(500);
        await stack.aws.kms.send(new EnableKeyCommand({ KeyId: t.keyArn }));
        const seen = new Set<string>();
        const until = Date.now() + (flapWindow + 2 * WINDOW_S) * 1000;
        while (Date.now() < until) {
          seen.add(await state(t.workspaceId));
          await sleep(200);
        }
        if (seen.has('shredded')) {
          r.falseShreds++;
          note(`run ${run}: a key disabled for 0.5 s under flapping was shredded`);
        }
        if (seen.has('access_suspect')) r.restoredRunsThatSawDenials++;
        await admin('DELETE', '/propagation/aws');
      }
      // 2. A real revocation under flapping of `flapSeconds`.
      {
        const t = await seedTenant(stack, `flap-revoked-${run}`);
        if ((await stack.http.get(t.dekPath('a'), t.tokens.service)).status !== 200)
          throw new Error('warming the revoked tenant failed');
        await admin('PUT', '/propagation/aws', { delayMs: 0, flapMs: opts.flapSeconds * 1000, seed: 2000 + run });
        const revokedAt = Date.now();
        await stack.aws.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
        const deadline = revokedAt + (r.boundSeconds + 30) * 1000;
        let shredded = false;
        while (Date.now() < deadline) {
          if ((await state(t.workspaceId)) === 'shredded') {
            shredded = true;
            break;
          }
          await sleep(100);
        }
        if (shredded) r.secondsToShred.push(Math.round((Date.now() - revokedAt) / 100) / 10);
        else {
          r.revocationsMissed++;
          note(
            `run ${run}: a real revocation under ${opts.flapSeconds} s of flapping was not shredded within ${r.boundSeconds + 30} s`,
          );
        }
        await admin('DELETE', '/propagation/aws');
      }
    }
    r.maxSecondsToShred = r.secondsToShred.length ? Math.max(...r.secondsToShred) : null;
  } finally {
    if (worker) {
      worker.kill('SIGTERM');
      if (!(await Promise.race([worker.exited, sleep(10_000).then(() => null)]))) worker.kill('SIGKILL');
    }
    await stack.close();
  }
  return r;
}
