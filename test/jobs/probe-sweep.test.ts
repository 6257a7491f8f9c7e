import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { ProbeSweep, spreadOffset } from '../../libs/jobs/src/scheduling/probe-sweep';
import { JobsHarness, startJobsHarness } from './harness';

/**
 * The probe sweep's schedule, against real Postgres and a real BullMQ queue (no worker consumes it): every
 * configuration is probed at a fixed phase of each interval slot, whenever the sweep itself runs, and a worker's
 * start-up sweep adds only the probes still ahead in the current slot.
 */
describe('probe sweep schedule', () => {
  const INTERVAL = 60_000;
  let h: JobsHarness;
  let queue: Queue;
  let sweep: ProbeSweep;
  let configs: string[];

  beforeAll(async () => {
    h = await startJobsHarness();
    queue = new Queue('keyhold-access-probe', {
      connection: h.redis,
      prefix: `kh-sweep-${randomBytes(4).toString('hex')}`,
    });
    sweep = new ProbeSweep(h.deps.repos.keyConfigurations, queue, INTERVAL);
    const tenants = await Promise.all([h.awsTenant(), h.awsTenant(), h.awsTenant()]);
    configs = tenants.map((t) => t.keyConfigurationId);
  });
  afterAll(async () => {
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await h?.close();
  });
  afterEach(async () => queue.obliterate({ force: true }));

  const delays = async () => {
    const jobs = await queue.getJobs(['delayed', 'waiting']);
    return new Map(
      jobs.map((j) => [
        (j.data as { keyConfigurationId: string }).keyConfigurationId,
        { id: j.id, delay: j.opts.delay ?? 0 },
      ]),
    );
  };

  it('a late sweep keeps each configuration at its phase: the probe runs at slot start + offset, not sweep time + offset', async () => {
    const slotStart = Math.floor(Date.now() / INTERVAL) * INTERVAL + 10 * INTERVAL;
    const late = 7_000;
    await sweep.execute(slotStart + late);
    const got = await delays();
    for (const c of configs) {
      const offset = spreadOffset(c, INTERVAL);
      expect(got.get(c)).toEqual({ id: `probe-${c}-${slotStart / INTERVAL}`, delay: Math.max(0, offset - late) });
    }
  });

  it('a start-up sweep adds only the probes whose phase is still ahead in the current slot', async () => {
    const slotStart = Math.floor(Date.now() / INTERVAL) * INTERVAL + 20 * INTERVAL;
    const offsets = configs.map((c) => spreadOffset(c, INTERVAL)).sort((a, b) => a - b);
    // Start between the smallest and the largest phase: some configurations are behind, some ahead.
    const now = slotStart + Math.floor((offsets[0] + offsets[offsets.length - 1]) / 2);
    const added = await sweep.execute(now, { onlyAhead: true });
    const got = await delays();
    const ahead = configs.filter((c) => slotStart + spreadOffset(c, INTERVAL) > now);
    expect(added).toBe(ahead.length);
    expect([...got.keys()].filter((k) => configs.includes(k)).sort()).toEqual([...ahead].sort());
    for (const c of ahead) expect(got.get(c)!.delay).toBe(slotStart + spreadOffset(c, INTERVAL) - now);
  });

  it('two sweeps of one slot add each probe once', async () => {
    const slotStart = Math.floor(Date.now() / INTERVAL) * INTERVAL + 30 * INTERVAL;
    await sweep.execute(slotStart + 1);
    await sweep.execute(slotStart + 5_000);
    const jobs = await queue.getJobs(['delayed', 'waiting']);
    const mine = jobs.filter((j) => configs.includes((j.data as { keyConfigurationId: string }).keyConfigurationId));
    expect(mine).toHaveLength(configs.length);
  });
});
