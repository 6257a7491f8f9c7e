import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import { KEK_HOLDING_STATES, type KeyConfigurationRepository } from '@app/persistence';
import { JobName, ProbeJobData } from '../contracts';

/**
 * Every probe interval: one probe job per key configuration that has live bound workspaces. The job id names the
 * configuration and the interval slot, so overlapping sweeps (two workers, a restart) add each probe once. Each
 * configuration gets a stable phase inside the interval, so probes are spread out instead of hitting every
 * customer KMS (and our own rate limits) in the same second.
 *
 * The phase is absolute (slot start + offset), not relative to when the sweep ran: a configuration is probed every
 * interval at the same instant however late a sweep runs, and a worker that starts mid-slot sweeps at once, so no
 * configuration waits more than one interval for its next probe (revocation is detected within one interval).
 */
export class ProbeSweep {
  constructor(
    private readonly keyConfigurations: KeyConfigurationRepository,
    private readonly probeQueue: Queue,
    private readonly intervalMs: number,
  ) {}

  /**
   * `onlyAhead`: add only the probes whose phase in the current slot is still to come (a worker's start-up sweep:
   * the others are due in the next slot, less than one interval away, and probing them all at once on every restart
   * would burst every customer's KMS).
   */
  async execute(now = Date.now(), opts: { onlyAhead?: boolean } = {}): Promise<number> {
    const configs = await this.keyConfigurations.boundInStates(KEK_HOLDING_STATES);
    const slot = Math.floor(now / this.intervalMs);
    const due = configs
      .map((c) => ({ c, at: slot * this.intervalMs + spreadOffset(c.keyConfigurationId, this.intervalMs) }))
      .filter(({ at }) => !opts.onlyAhead || at > now);
    await this.probeQueue.addBulk(
      due.map(({ c, at }) => {
        const data: ProbeJobData = { tenantId: c.tenantId, keyConfigurationId: c.keyConfigurationId };
        return {
          name: JobName.AccessProbe,
          data,
          opts: {
            jobId: `probe-${c.keyConfigurationId}-${slot}`,
            delay: Math.max(0, at - now),
            attempts: 3,
            backoff: { type: 'exponential', delay: 1_000 },
            removeOnComplete: { count: 1_000 },
            removeOnFail: { count: 1_000 },
          },
        };
      }),
    );
    return due.length;
  }
}

/** Stable pseudo-random offset in [0, interval/2) from the configuration id. */
export function spreadOffset(id: string, intervalMs: number): number {
  const h = createHash('sha256').update(id).digest().readUInt32BE(0);
  return Math.floor((h / 0x1_0000_0000) * (intervalMs / 2));
}
