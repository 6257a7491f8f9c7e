import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { keyCrypto } from '@app/crypto';
import { KekCache } from '@app/kek-cache';
import { KekResolver, type ProviderRegistry } from '@app/keys';
import type { KekVersionRow, KeyConfigurationRow, Repositories } from '@app/persistence';
import {
  canonicalContext,
  kekWrapContext,
  ProviderError,
  type KeyConfig,
  type WrapContext,
  type WrappedKek,
} from '@app/provider-port';
import { ProviderGate } from '../engine/provider-gate';
import type { RedisTokenBucket } from '../engine/token-bucket';
import type { JobProvider } from '../ports';
import { KekWrapping } from './kek-wrapping';

/**
 * The worker writes a KEK's wrapped form (bind, rotation, CMK rewrap, re-key) and the API unwraps it on a cold
 * cache. Both must bind it to the same context, or every unwrap of a form the other wrote fails as if the customer
 * had revoked the key. Here a customer key that authenticates the context (AES-256-GCM with the canonical context
 * as associated data, as GCP and Azure bind it) sits between the worker's KekWrapping and the API's KekResolver:
 * the round trip works only if the two compute the context the same way.
 */
const T = randomUUID();
const W = randomUUID();
const KC = randomUUID();

function customerKey() {
  const cmk = randomBytes(32);
  const seen: WrapContext[] = [];
  const provider = {
    kind: 'aws',
    describe: async () => ({
      keyId: 'k',
      state: 'enabled',
      usage: 'ENCRYPT_DECRYPT',
      usageOk: true,
      spec: 'SYMMETRIC_DEFAULT',
      currentVersion: null,
    }),
    wrap: async (_c: KeyConfig, kek: Buffer, ctx: WrapContext): Promise<WrappedKek> => {
      seen.push(ctx);
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', cmk, iv).setAAD(canonicalContext(ctx));
      const body = Buffer.concat([c.update(kek), c.final()]);
      return { ciphertext: Buffer.concat([iv, c.getAuthTag(), body]), keyVersion: null };
    },
    unwrap: async (_c: KeyConfig, w: WrappedKek, ctx: WrapContext): Promise<Buffer> => {
      seen.push(ctx);
      const d = createDecipheriv('aes-256-gcm', cmk, w.ciphertext.subarray(0, 12)).setAAD(canonicalContext(ctx));
      d.setAuthTag(w.ciphertext.subarray(12, 28));
      try {
        return Buffer.concat([d.update(w.ciphertext.subarray(28)), d.final()]);
      } catch {
        throw new ProviderError(
          'invalid_ciphertext',
          'aws',
          'unwrap',
          'InvalidCiphertextException',
          'the context does not match',
        );
      }
    },
    explain: () => 'n/a',
  } as unknown as JobProvider;
  return { provider, seen };
}

function worker(provider: JobProvider): KekWrapping {
  const unlimited = { take: async () => undefined } as unknown as RedisTokenBucket;
  return new KekWrapping({ get: () => provider }, new ProviderGate(unlimited), keyCrypto);
}

function api(provider: JobProvider, row: () => KekVersionRow) {
  const repos = {
    keks: { find: async () => row() },
    keyConfigurations: {
      findWithTenant: async () => ({
        row: { id: KC, tenantId: T, provider: 'aws', config: { provider: 'aws' } },
        tenant: { id: T, externalId: 'x' },
      }),
    },
    workspaces: { setDegraded: async () => true },
  } as unknown as Repositories;
  const registry = { binding: () => ({ provider, bindTenant: (c: KeyConfig) => c }) } as unknown as ProviderRegistry;
  return new KekResolver(
    repos,
    registry,
    new KekCache({ ttlMs: 60_000, maxEntries: 10 }),
    { onRevocationSuspected: async () => undefined },
    1,
  );
}

const cfg = {
  id: KC,
  tenantId: T,
  provider: 'aws',
  config: { provider: 'aws' },
  status: 'valid',
} as unknown as KeyConfigurationRow;

function stored(version: number, wrapped: WrappedKek, kcv: Buffer): KekVersionRow {
  const now = new Date();
  return {
    tenantId: T,
    workspaceId: W,
    version,
    keyConfigurationId: KC,
    wrapped: wrapped.ciphertext,
    providerKeyVersion: wrapped.keyVersion,
    state: 'active',
    wrapCount: 0,
    kcv,
    createdAt: now,
    wrappedAt: now,
  };
}

describe('KEK wrap context: one definition for the worker and the API', () => {
  it('a KEK the worker wraps (as a rotation does) is unwrapped by the API with the same context', async () => {
    const { provider, seen } = customerKey();
    const kek = keyCrypto.generateKek();
    const kcv = keyCrypto.kcv(kek);
    const wrapped = await worker(provider).wrapVerified(kek, kcv, { tenantId: T, workspaceId: W, version: 2 }, cfg);
    const row = stored(2, wrapped, kcv);

    const opened = await api(provider, () => row).withKek(T, W, 2, (k) => Buffer.from(k));
    expect(opened.equals(kek)).toBe(true);
    // Worker wrap, worker verification, API unwrap: one context, the one provider-port defines.
    const expected = kekWrapContext({ tenantId: T, workspaceId: W, keyConfigurationId: KC, kekVersion: 2 });
    expect(seen).toHaveLength(3);
    for (const ctx of seen) expect(ctx).toEqual(expected);
  });

  it('a form the API finds under another version or workspace does not open (the context is really bound)', async () => {
    const { provider } = customerKey();
    const kek = keyCrypto.generateKek();
    const kcv = keyCrypto.kcv(kek);
    const wrapped = await worker(provider).wrapVerified(
      kek,
      kcv,
      { tenantId: T, workspaceId: randomUUID(), version: 2 },
      cfg,
    );
    await expect(api(provider, () => stored(2, wrapped, kcv)).withKek(T, W, 2, () => undefined)).rejects.toThrow(
      /invalid_ciphertext/,
    );
  });

  it('a KEK the API side binds is opened by the worker (the bind wraps in the API, every job unwraps it later)', async () => {
    const { provider } = customerKey();
    const kek = keyCrypto.generateKek();
    const kcv = keyCrypto.kcv(kek);
    const ctx = kekWrapContext({ tenantId: T, workspaceId: W, keyConfigurationId: KC, kekVersion: 1 });
    const wrapped = await provider.wrap(cfg.config, kek, ctx);
    const opened = await worker(provider).unwrap(stored(1, wrapped, kcv), cfg);
    expect(opened.equals(kek)).toBe(true);
  });
});
