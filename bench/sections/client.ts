import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { KeyholdClient, KeyholdError } from '../../packages/client/src';
import { expectJson } from '../lib/http';
import { percentile, round } from '../lib/stats';
import type { BenchContext, World } from './context';

export interface ClientResult {
  client: {
    /** Warm `getDek` calls per second in one process (cache lookup + a private copy of the key). */
    cached_dek_ops_per_s: number;
    /** `encrypt` of 64-byte payloads per second with a warm cache (info). */
    small_encrypt_ops_per_s: number;
    /**
     * `encryptParts` of 1 MiB payloads (warm cache), MB/s: the envelope as header, ciphertext and tag, like the raw
     * baseline, which hands back its ciphertext and tag as two buffers.
     */
    encrypt_mb_per_s: number;
    /** Bare AES-256-GCM (createCipheriv, update, final, tag) of the same 1 MiB payloads in the same process, MB/s. */
    raw_aes_gcm_mb_per_s: number;
    /** Client / raw throughput, the median over paired rounds: what the envelope costs over the cipher (target ≥ 0.9). */
    encrypt_ratio: number;
    /** encrypt_mb_per_s / raw_aes_gcm_mb_per_s over all rounds (info; the median above is the headline). */
    encrypt_ratio_of_totals: number;
    /** `encrypt` of 1 MiB payloads into one joined Buffer (one more copy than the cipher's output), MB/s (info). */
    encrypt_joined_mb_per_s: number;
    /** Joined / raw, median over the same paired rounds (info). */
    encrypt_joined_ratio: number;
    /** `encryptStream` of 1 MiB payloads (64 KiB frames, output consumed frame by frame), MB/s. */
    encrypt_stream_mb_per_s: number;
    /** Stream / raw, median over paired rounds (info: the stream never joins its output into one buffer). */
    stream_ratio: number;
    payload_bytes: number;
    /**
     * Server shred → client refuses: a client holding a workspace's DEK in its cache (event stream connected), the
     * workspace destroyed through the admin API; time from the server's answer until the client's next `getDek`
     * refuses (its cache purged by the event, the server answering 410). 0 = already refusing when the answer came.
     */
    shred_propagation_ms: number | null;
    shred_propagation_p50_ms: number | null;
    shred_propagation_samples: number;
  };
}

const MIB = 1024 * 1024;

/** Runs `fn` repeatedly for `ms` (after a short warm-up) and returns calls per second. */
async function rate(ms: number, fn: () => unknown | Promise<unknown>, batch = 1): Promise<number> {
  const warm = Date.now() + Math.min(500, ms / 4);
  while (Date.now() < warm) for (let i = 0; i < batch; i++) await fn();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (let i = 0; i < batch; i++) await fn();
    n += batch;
  }
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * @keyhold/client in the harness process against the control replica: the DEK comes over HTTP once, then every
 * figure is local work. The raw AES-GCM figure runs in rounds paired with the client's in the same process so machine
 * noise hits both; the ratio (median of paired rounds) is the headline.
 */
export async function clientSection(ctx: BenchContext, world: World): Promise<ClientResult> {
  const p = world.principals[0];
  const ws = world.fetchWorkspaces[0];
  const c = new KeyholdClient({
    baseUrl: ctx.control.internalUrl,
    clientId: p.clientId,
    clientSecret: p.clientSecret,
    events: false,
    cache: { ttlMs: 600_000 },
  });
  try {
    const seg = 'bench-client';
    await c.encrypt({ workspaceId: ws, segmentId: seg, plaintext: 'warm' });
    const key = (await c.getDek(ws, seg)).key;
    const ms = ctx.mode.name === 'quick' ? 1_500 : 4_000;
    const cached = await rate(ms, () => c.getDek(ws, seg), 1000);
    const small = randomBytes(64);
    const smallOps = await rate(ms, () => c.encrypt({ workspaceId: ws, segmentId: seg, plaintext: small }), 200);
    const big = randomBytes(MIB);
    const raw = () => {
      const ci = createCipheriv('aes-256-gcm', key, randomBytes(12));
      const body = ci.update(big);
      ci.final();
      return [body, ci.getAuthTag()];
    };
    const env = () => c.encryptParts({ workspaceId: ws, segmentId: seg, plaintext: big });
    const joined = () => c.encrypt({ workspaceId: ws, segmentId: seg, plaintext: big });
    const stream = async () => {
      const e = c.encryptStream({ workspaceId: ws, segmentId: seg });
      e.resume();
      await pipeline(Readable.from([big]), e);
    };
    // Paired rounds (raw then client, same number of payloads, back to back) and the median of the per-round
    // ratios: on a shared machine a burst of other work then distorts one round, not the figure.
    const rounds = ctx.mode.name === 'quick' ? 9 : 25;
    const perRound = 8;
    const ratios: number[] = [];
    const joinedRatios: number[] = [];
    let rawSeconds = 0;
    let envSeconds = 0;
    let joinedSeconds = 0;
    for (let i = 0; i < 3; i++) {
      raw();
      await env();
      await joined();
    }
    // Each phase leaves 8 MiB of garbage that the next phase's allocations pay to collect: the order rotates every
    // round, so every contender follows each of the others equally often (a fixed order charged raw's garbage to
    // the client).
    const timed = async (fn: () => unknown): Promise<number> => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) await fn();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    for (let r = 0; r < rounds; r++) {
      const s = { raw: 0, env: 0, joined: 0 };
      const order: Array<keyof typeof s> = (['raw', 'env', 'joined'] as const).map(
        (_, i, all) => all[(i + r) % all.length],
      );
      for (const which of order) s[which] = await timed(which === 'raw' ? raw : which === 'env' ? env : joined);
      rawSeconds += s.raw;
      envSeconds += s.env;
      joinedSeconds += s.joined;
      ratios.push(s.raw / s.env);
      joinedRatios.push(s.raw / s.joined);
    }
    ratios.sort((a, b) => a - b);
    joinedRatios.sort((a, b) => a - b);
    const streamRatios: number[] = [];
    let streamSeconds = 0;
    for (let r = 0; r < rounds; r++) {
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) raw();
      const rawS = Number(process.hrtime.bigint() - t0) / 1e9;
      t0 = process.hrtime.bigint();
      for (let i = 0; i < perRound; i++) await stream();
      const sS = Number(process.hrtime.bigint() - t0) / 1e9;
      streamSeconds += sS;
      streamRatios.push(rawS / sS);
    }
    streamRatios.sort((a, b) => a - b);
    const rawRate = (rounds * perRound) / rawSeconds;
    const envRate = (rounds * perRound) / envSeconds;
    key.fill(0);
    const shred = await shredPropagation(ctx, world, ctx.mode.name === 'quick' ? 10 : 30);
    const result = {
      cached_dek_ops_per_s: Math.round(cached),
      small_encrypt_ops_per_s: Math.round(smallOps),
      encrypt_mb_per_s: round(envRate, 1),
      raw_aes_gcm_mb_per_s: round(rawRate, 1),
      encrypt_ratio: round(ratios[Math.floor(ratios.length / 2)], 3),
      encrypt_ratio_of_totals: round(envRate / rawRate, 3),
      encrypt_joined_mb_per_s: round((rounds * perRound) / joinedSeconds, 1),
      encrypt_joined_ratio: round(joinedRatios[Math.floor(joinedRatios.length / 2)], 3),
      encrypt_stream_mb_per_s: round((rounds * perRound) / streamSeconds, 1),
      stream_ratio: round(streamRatios[Math.floor(streamRatios.length / 2)], 3),
      payload_bytes: MIB,
      shred_propagation_ms: shred.length ? round(percentile(shred, 99), 1) : null,
      shred_propagation_p50_ms: shred.length ? round(percentile(shred, 50), 1) : null,
      shred_propagation_samples: shred.length,
    };
    ctx.log(`client: ${JSON.stringify(result)}`);
    return { client: result };
  } finally {
    await c.close();
  }
}

/**
 * `n` fresh workspaces bound to the seeded configuration, a principal scoped to them, a client with the event
 * stream on and each workspace's DEK cached; then each workspace is destroyed in turn and the client asked for the
 * DEK every millisecond until it refuses. Returns the samples (ms after the server's answer).
 */
async function shredPropagation(ctx: BenchContext, world: World, n: number): Promise<number[]> {
  const admin = await ctx.adminToken();
  const names = Array.from({ length: n }, (_, i) => `bench-shred-${Date.now().toString(36)}-${i}`);
  const ids: string[] = [];
  for (const name of names) {
    const id = await ctx.client.createWorkspace(admin, world.tenantId, name);
    await ctx.client.bindWorkspace(admin, world.tenantId, id, world.keyConfigurationId);
    ids.push(id);
  }
  const sp = await ctx.client.createServicePrincipal(admin, world.tenantId, 'bench-shred', ids);
  const c = new KeyholdClient({
    baseUrl: ctx.control.internalUrl,
    clientId: sp.clientId,
    clientSecret: sp.clientSecret,
    cache: { ttlMs: 600_000 },
  });
  const samples: number[] = [];
  try {
    await c.ready();
    for (const id of ids) (await c.getDek(id, 'shred-probe')).key.fill(0);
    for (let i = 0; i < ids.length; i++) {
      await expectJson(
        'destroy workspace',
        `${ctx.control.url}/v1/tenants/${world.tenantId}/workspaces/${ids[i]}`,
        [200, 202, 204],
        {
          method: 'DELETE',
          token: admin,
          body: { confirm: names[i] },
        },
      );
      const acked = performance.now();
      const deadline = acked + 10_000;
      let refusedAt: number | null = null;
      while (performance.now() < deadline) {
        try {
          (await c.getDek(ids[i], 'shred-probe')).key.fill(0);
        } catch (err) {
          if (!(err instanceof KeyholdError)) throw err;
          refusedAt = performance.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      if (refusedAt === null)
        throw new Error(`the client still served a destroyed workspace's DEK 10 s after the server's answer`);
      samples.push(Math.max(0, refusedAt - acked));
    }
  } finally {
    await c.close();
  }
  ctx.log(`client: shred propagation samples (ms) ${samples.map((x) => x.toFixed(1)).join(' ')}`);
  return samples;
}
