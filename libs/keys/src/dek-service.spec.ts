import { randomUUID } from 'node:crypto';
import { generateKek, kcv } from '@app/crypto';
import { KekCache } from '@app/kek-cache';
import type { DekRow, KekVersionRow, Repositories, WorkspaceRow } from '@app/persistence';
import { ProviderError } from '@app/provider-port';
import { encodeDekBody } from './dek-body';
import { DekService } from './dek-service';
import { DomainError, ErrorCode } from './errors';
import { KekResolver } from './kek-resolver';
import type { ProviderRegistry } from './provider-registry';

/**
 * DekService and KekResolver over in-memory repositories and a scripted customer key (the real thing, with
 * Postgres and the emulators, is in test/core and test/jobs). What these pin down: a cached KEK keeps DEKs
 * flowing whatever the KMS says; a KMS failure marks the workspace degraded and asks for a revocation check only
 * for revocation-class refusals, and never drops anything cached; state reads report the KEK generation (the
 * invalidation bus's baseline), not state_version.
 */
const T = randomUUID();
const W = randomUUID();
const SP = randomUUID();
const KC = randomUUID();

function world(opts: { stateCacheTtlMs?: number } = {}) {
  const kek = generateKek();
  const ws: WorkspaceRow & { inScope: boolean; cacheVersion: number } = {
    id: W,
    tenantId: T,
    name: 'w',
    keyState: 'active',
    keyConfigurationId: KC,
    currentKekVersion: 1,
    degraded: false,
    stateVersion: 17,
    kekGeneration: 3,
    updatedAt: new Date(),
    inScope: true,
    // kek_generation + segment_epoch: what the bus compares (no segment destroyed here)
    cacheVersion: 3,
  };
  const kekRow: KekVersionRow = {
    tenantId: T,
    workspaceId: W,
    version: 1,
    keyConfigurationId: KC,
    wrapped: Buffer.from('wrapped-kek'),
    providerKeyVersion: null,
    state: 'active',
    wrapCount: 0,
    kcv: kcv(kek),
    createdAt: new Date(),
    wrappedAt: new Date(),
  };
  const deks = new Map<string, DekRow>();
  const calls = { unwrap: 0, degraded: [] as boolean[], suspected: [] as string[], stateReads: 0 };
  /** What the customer's KMS answers next: the KEK, or a classified failure. */
  let kms: () => Buffer = () => Buffer.from(kek);
  const repos = {
    workspaces: {
      findForPrincipal: async () => {
        calls.stateReads++;
        return { ...ws };
      },
      setDegraded: async (_t: string, _w: string, d: boolean) => {
        calls.degraded.push(d);
        return true;
      },
    },
    deks: {
      findMany: async (_t: string, _w: string, ids: string[]) =>
        ids.flatMap((s) => (deks.has(s) ? [deks.get(s)!] : [])),
      insertIfAbsent: async (
        _t: string,
        _w: string,
        items: Array<{ id: string; segmentId: string; kekVersion: number; wrapped: Buffer }>,
      ) => {
        const out: DekRow[] = [];
        for (const i of items)
          if (!deks.has(i.segmentId)) {
            deks.set(i.segmentId, i);
            out.push(i);
          }
        return out;
      },
    },
    keks: {
      find: async () => kekRow,
      findLive: async () => [kekRow],
      reserveWraps: async (_t: string, _w: string, _v: number, n: number) => n,
    },
    segments: {
      findDeksOrTombstones: async (_t: string, _w: string, ids: string[]) => ({
        rows: ids.flatMap((s) => (deks.has(s) ? [deks.get(s)!] : [])),
        destroyed: [],
      }),
      reserveDekSlots: async (_t: string, _w: string, n: number) => n,
      releaseDekSlots: async () => undefined,
    },
    keyConfigurations: {
      findWithTenant: async () => ({
        row: { id: KC, provider: 'aws', config: {} },
        tenant: { id: T, externalId: 'x' },
      }),
    },
  } as unknown as Repositories;
  const registry = {
    binding: () => ({
      bindTenant: (c: unknown) => c,
      provider: {
        unwrap: async () => {
          calls.unwrap++;
          return kms();
        },
      },
    }),
  } as unknown as ProviderRegistry;
  const cache = new KekCache({ ttlMs: 60_000, maxEntries: 10, dekMaxBytes: 1 << 20 });
  const resolver = new KekResolver(
    repos,
    registry,
    cache,
    { onRevocationSuspected: async (_t, _w, c) => void calls.suspected.push(c) },
    7,
  );
  const observed: number[] = [];
  const service = new DekService(
    repos,
    resolver,
    { stateCacheTtlMs: opts.stateCacheTtlMs ?? 0, wrappedCacheEntries: 100, wrapReserveChunk: 10, batchMax: 100 },
    undefined,
    (_w, g) => observed.push(g),
  );
  return {
    kek,
    ws,
    deks,
    calls,
    cache,
    service,
    resolver,
    observed,
    kmsAnswers: (f: () => Buffer) => (kms = f),
    close: () => cache.close(),
  };
}
const P = { tid: T, sub: SP };
const throttled = () => {
  throw new ProviderError('throttled', 'aws', 'Decrypt', 'ThrottlingException', 'rate exceeded');
};
const denied = () => {
  throw new ProviderError('access_denied', 'aws', 'Decrypt', 'AccessDeniedException', 'denied');
};

describe('DekService and KekResolver', () => {
  it('reports the KEK generation of every state read, never the state version', async () => {
    const w = world();
    await w.service.getDeks(P, W, ['a']);
    expect(w.observed).toEqual([3]);
    w.close();
  });

  it('serves DEKs from a cached KEK while every KMS call fails (no unwrap attempted, nothing dropped)', async () => {
    const w = world();
    const [first] = await w.service.getDeks(P, W, ['a']);
    expect(w.calls.unwrap).toBe(1);
    w.kmsAnswers(throttled);
    for (let i = 0; i < 20; i++) {
      const [again] = await w.service.getDeks(P, W, ['a', `new-${i}`]);
      expect(again.dek).toBe(first.dek);
    }
    expect(w.calls.unwrap).toBe(1);
    expect(w.cache.hasWorkspace(W)).toBe(true);
    w.close();
  });

  it('a transient failure with nothing cached: 503 KMS_UNAVAILABLE with Retry-After, degraded, no revocation check', async () => {
    const w = world();
    w.kmsAnswers(throttled);
    const err = await w.service.getDeks(P, W, ['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ code: ErrorCode.KmsUnavailable, retryAfterSeconds: 7 });
    await new Promise((r) => setImmediate(r));
    expect(w.calls.degraded).toEqual([true]);
    expect(w.calls.suspected).toEqual([]);
    // the KMS is back: the next cold use unwraps, clears the flag
    w.kmsAnswers(() => Buffer.from(w.kek));
    await w.service.getDeks(P, W, ['a']);
    await new Promise((r) => setImmediate(r));
    expect(w.calls.degraded).toEqual([true, false]);
    w.close();
  });

  it('a revocation-class refusal asks for a revocation check once per 30 s, never shreds inline', async () => {
    const w = world();
    w.kmsAnswers(denied);
    for (let i = 0; i < 3; i++)
      await expect(w.resolver.withKek(T, W, 1, () => undefined)).rejects.toMatchObject({
        code: ErrorCode.KmsUnavailable,
      });
    expect(w.calls.suspected).toEqual(['access_denied']);
    w.close();
  });

  it('a KEK that does not match its key-check value is refused (KEY_INTEGRITY) and never cached', async () => {
    const w = world();
    w.kmsAnswers(() => generateKek());
    await expect(w.resolver.withKek(T, W, 1, () => undefined)).rejects.toMatchObject({ code: ErrorCode.KeyIntegrity });
    expect(w.cache.hasWorkspace(W)).toBe(false);
    w.close();
  });

  it('an access_suspect workspace is still served from its cached KEK; a shredded one answers WORKSPACE_SHREDDED', async () => {
    const w = world();
    await w.service.getDeks(P, W, ['a']);
    w.kmsAnswers(denied);
    w.ws.keyState = 'access_suspect';
    expect((await w.service.getDeks(P, W, ['a'])).length).toBe(1);
    w.ws.keyState = 'shredded';
    await expect(w.service.getDeks(P, W, ['a'])).rejects.toMatchObject({ code: ErrorCode.WorkspaceShredded });
    w.close();
  });

  it('warm path: the encoded DEK comes from the cache under its KEK, after the scope check, and goes with the KEK', async () => {
    const w = world({ stateCacheTtlMs: 60_000 });
    const [first] = await w.service.getDeks(P, W, ['a']);
    expect(w.cache.snapshot()).toMatchObject({ deks: 1, dekStores: 1 });
    const body = w.service.getWarmBody(P, W, 'a');
    expect(body).toBe(encodeDekBody(first.dek, first.dekId, 1));
    expect(w.cache.snapshot()).toMatchObject({ dekHits: 1, dekStores: 1 });
    // the batch path reads the same cached DEK (no second store)
    expect((await w.service.getDeks(P, W, ['a']))[0].dek).toBe(first.dek);
    expect(w.cache.snapshot()).toMatchObject({ dekHits: 2, dekStores: 1 });
    // another principal has no cached scope decision: never answered from the DEK cache
    expect(w.service.getWarmBody({ tid: T, sub: randomUUID() }, W, 'a')).toBeUndefined();
    // a cached refusal is still a refusal: the state check runs before the DEK cache is looked at
    w.ws.keyState = 'shredded';
    w.service.forgetWorkspace(W);
    await expect(w.service.getDeks(P, W, ['a'])).rejects.toMatchObject({ code: ErrorCode.WorkspaceShredded });
    expect(() => w.service.getWarmBody(P, W, 'a')).toThrow(
      expect.objectContaining({ code: ErrorCode.WorkspaceShredded }),
    );
    // the KEK leaves: its DEK with it, and the bytes are gone from the slab
    w.cache.dropWorkspace(T, W, 'shred');
    const look = w.cache.inspectPlaintext();
    expect(look.deks(W)).toBe(0);
    expect(look.contains(Buffer.from(first.dek, 'latin1'))).toBe(false);
    expect(look.contains(Buffer.from(first.dek, 'base64'))).toBe(false);
    w.close();
  });
});
