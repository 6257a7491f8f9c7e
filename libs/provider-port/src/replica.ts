import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { WrapContext } from './context';
import { InvalidIdentifierError, isTransient, ProviderError } from './errors';
import type { CloudKeyProvider } from './module';
import type { ProviderCallObserver } from './observer';
import type { CallScope, KeyConfig, KeyDescription, ValidationCheck, WrappedKek } from './port';

/**
 * KMS-region redundancy (docs/ARCHITECTURE.md, "Replica keys"). A key configuration may name a replica key: an AWS
 * multi-Region replica of the same key in another region, a GCP key in a second location, an Azure key in a paired
 * vault. The KEK is then wrapped under each, and the two forms are stored together as one envelope in the KEK row's
 * `wrapped` column, so every rule that replaces, keeps or deletes a stored form (re-key, CMK rewrap, retirement,
 * the shred, `DELETE` workspace) handles both at once. Configurations without a replica keep the plain provider
 * ciphertext: nothing changes for them.
 */
export type KeySide = 'primary' | 'replica';
export const KEY_SIDES: readonly KeySide[] = ['primary', 'replica'];

/** The replica key as a configuration of its own (the primary's identity path, the replica's key), or null. */
export function replicaConfig(c: KeyConfig): KeyConfig | null {
  switch (c.provider) {
    case 'aws':
      return c.replica
        ? { provider: 'aws', keyArn: c.replica.keyArn, roleArn: c.roleArn, externalId: c.externalId }
        : null;
    case 'azure':
      return c.replica
        ? { provider: 'azure', keyId: c.replica.keyId, tenantId: c.tenantId, externalId: c.externalId }
        : null;
    case 'gcp':
      return c.replica ? { provider: 'gcp', keyName: c.replica.keyName, serviceAccount: c.serviceAccount } : null;
  }
}

/** The primary key alone (the configuration without its replica). */
export function primaryConfig(c: KeyConfig): KeyConfig {
  if (!c.replica) return c;
  const { replica: _replica, ...rest } = c;
  return rest;
}

/** One side's configuration; null for the replica side of a configuration that names none. */
export function sideConfig(c: KeyConfig, side: KeySide): KeyConfig | null {
  return side === 'primary' ? primaryConfig(c) : replicaConfig(c);
}

/** The sides a configuration has: primary, and replica when it names one. */
export function sidesOf(c: KeyConfig): KeySide[] {
  return c.replica ? ['primary', 'replica'] : ['primary'];
}

/**
 * True when either key opens the other's ciphertext: an AWS multi-Region key and its replica share key material,
 * so a form wrapped under one is a form under both. GCP and Azure replicas are different keys.
 */
export function sharesKeyMaterial(c: KeyConfig): boolean {
  return c.provider === 'aws' && c.replica !== undefined;
}

function awsArnParts(arn: string): { partition: string; region: string; account: string; resource: string } | null {
  const p = arn.split(':');
  if (p.length !== 6 || p[0] !== 'arn' || p[2] !== 'kms') return null;
  return { partition: p[1], region: p[3], account: p[4], resource: p[5] };
}

function gcpLocation(name: string): string | null {
  return /^projects\/[^/]+\/locations\/([^/]+)\//.exec(name)?.[1] ?? null;
}

function azureVault(keyId: string): string | null {
  try {
    return new URL(keyId).host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * The primary configuration with the replica attached, after the binding parsed both (`replica` is the binding's
 * parse of the same input with the replica's key identifier). Throws InvalidIdentifierError (400) when the replica
 * cannot be one: AWS needs key ARNs (no alias: each region resolves its own) of the same multi-Region key (`mrk-`
 * id, same account) in another region; GCP a key in another location; Azure a key in another vault of the same
 * Entra tenant. That the AWS replica really holds the primary's material is proven at validation (check
 * `replica_key`: the replica decrypts what the primary encrypted).
 */
export function attachReplica(primary: KeyConfig, replica: KeyConfig): KeyConfig {
  const fail = (message: string): never => {
    throw new InvalidIdentifierError('replica', message);
  };
  switch (primary.provider) {
    case 'aws': {
      if (replica.provider !== 'aws') return fail('the replica must be a key of the same cloud');
      const p = awsArnParts(primary.keyArn);
      const r = awsArnParts(replica.keyArn);
      if (
        !p ||
        !r ||
        primary.aliasArn ||
        replica.aliasArn ||
        !p.resource.startsWith('key/') ||
        !r.resource.startsWith('key/')
      )
        return fail(
          'with a replica, keyArn and replica.keyArn must both be key ARNs (arn:aws:kms:<region>:<account>:key/mrk-…), not aliases',
        );
      if (!p.resource.startsWith('key/mrk-'))
        return fail('the primary key is not a multi-Region key (its key id must start with mrk-)');
      if (r.resource !== p.resource || r.account !== p.account || r.partition !== p.partition)
        return fail(
          'replica.keyArn must name the same multi-Region key (same account and mrk- key id) in another region',
        );
      if (r.region === p.region)
        return fail('replica.keyArn is in the same region as keyArn; a replica must be in another region');
      return { ...primary, replica: { keyArn: replica.keyArn } };
    }
    case 'gcp': {
      if (replica.provider !== 'gcp') return fail('the replica must be a key of the same cloud');
      const pl = gcpLocation(primary.keyName);
      const rl = gcpLocation(replica.keyName);
      if (!pl || !rl || pl === rl) return fail('replica.keyName must be a key in another location than keyName');
      return { ...primary, replica: { keyName: replica.keyName } };
    }
    case 'azure': {
      if (replica.provider !== 'azure') return fail('the replica must be a key of the same cloud');
      const pv = azureVault(primary.keyId);
      const rv = azureVault(replica.keyId);
      if (!pv || !rv || pv === rv) return fail('replica.keyId must be a key in another (paired) vault than keyId');
      if (replica.tenantId !== primary.tenantId) return fail('the paired vault must belong to the same Entra tenant');
      return { ...primary, replica: { keyId: replica.keyId } };
    }
  }
}

/**
 * Envelope of the two forms of one KEK: MAGIC ‖ flags (bit 0 primary, bit 1 replica) ‖ per present form
 * u32 length ‖ ciphertext ‖ u16 length (0xffff: none) ‖ key version (UTF-8). Hand-written: a few lines of
 * length-prefixed framing need no serialisation library, and the layout is fixed by what is stored.
 * Only ever read for a configuration that names a replica, so a plain provider ciphertext that happens to start
 * with the magic bytes is never misread.
 */
const MAGIC = Buffer.from([0x4b, 0x48, 0x52, 0x01]); // "KHR" v1
const NO_VERSION = 0xffff;

export type Forms = Partial<Record<KeySide, WrappedKek>>;

export function encodeForms(forms: Forms): Buffer {
  const parts: Buffer[] = [MAGIC, Buffer.from([(forms.primary ? 1 : 0) | (forms.replica ? 2 : 0)])];
  for (const side of KEY_SIDES) {
    const f = forms[side];
    if (!f) continue;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.ciphertext.length);
    const version = f.keyVersion === null ? null : Buffer.from(f.keyVersion, 'utf8');
    const vlen = Buffer.alloc(2);
    vlen.writeUInt16BE(version ? version.length : NO_VERSION);
    parts.push(len, f.ciphertext, vlen, ...(version ? [version] : []));
  }
  return Buffer.concat(parts);
}

/** The forms in a stored value of a configuration with a replica; a value that is not an envelope is the primary's. */
export function decodeForms(stored: Buffer, keyVersion: string | null = null): Forms {
  if (stored.length < MAGIC.length + 1 || !stored.subarray(0, MAGIC.length).equals(MAGIC))
    return { primary: { ciphertext: stored, keyVersion } };
  const flags = stored[MAGIC.length];
  let at = MAGIC.length + 1;
  const out: Forms = {};
  const bad = () =>
    new ProviderError(
      'invalid_ciphertext',
      'keyhold',
      'unwrap',
      'MalformedEnvelope',
      'the stored KEK envelope is malformed',
    );
  for (const [side, bit] of [
    ['primary', 1],
    ['replica', 2],
  ] as const) {
    if (!(flags & bit)) continue;
    if (at + 4 > stored.length) throw bad();
    const n = stored.readUInt32BE(at);
    at += 4;
    if (at + n + 2 > stored.length) throw bad();
    const ciphertext = Buffer.from(stored.subarray(at, at + n));
    at += n;
    const vn = stored.readUInt16BE(at);
    at += 2;
    let version: string | null = null;
    if (vn !== NO_VERSION) {
      if (at + vn > stored.length) throw bad();
      version = stored.subarray(at, at + vn).toString('utf8');
      at += vn;
    }
    out[side] = { ciphertext, keyVersion: version };
  }
  return out;
}

/** The stored forms of a KEK under a configuration, per side (a configuration without replica: the primary's only). */
export function formsOf(config: KeyConfig, wrapped: WrappedKek): Forms {
  return config.replica ? decodeForms(wrapped.ciphertext, wrapped.keyVersion) : { primary: wrapped };
}

/** What a shred keeps of a stored value: only the forms of `keep` (the envelope of none when nothing may stay). */
export function keepForms(config: KeyConfig, stored: Buffer, keep: readonly KeySide[]): Buffer {
  const forms = decodeForms(stored);
  return encodeForms(Object.fromEntries(keep.filter((s) => forms[s]).map((s) => [s, forms[s]])));
}

/**
 * The sides whose forms a shred may keep, given the sides the confirmed revocation was seen on: a form may stay only
 * if every key that opens it is revoked (the customer alone can then reopen it, by restoring access). With shared
 * material (AWS multi-Region) each form opens under both keys, so both must be revoked for anything to stay.
 */
export function sidesToKeep(config: KeyConfig, revoked: readonly KeySide[]): KeySide[] {
  if (!config.replica) return ['primary'];
  if (sharesKeyMaterial(config))
    return revoked.includes('primary') && revoked.includes('replica') ? ['primary', 'replica'] : [];
  return KEY_SIDES.filter((s) => revoked.includes(s));
}

/** Tags an error with the side it came from (the replica's messages say so). */
function onReplica(err: unknown): Error {
  if (err instanceof ProviderError)
    return new ProviderError(
      err.errorClass,
      err.provider,
      err.operation,
      err.providerCode,
      `replica key: ${err.message}`,
    );
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A cloud binding that understands replica keys; a configuration without one passes straight through.
 * - wrap: under both keys; the replica form is unwrapped again and compared before the envelope is returned
 *   (callers verify the envelope's primary side themselves: never store a form nobody unwrapped);
 * - unwrap: the primary form; on a transient answer only (throttled, 5xx, timeout, unreachable) the replica form,
 *   counted and logged through the observer's failover listeners. A permanent refusal of the primary is never
 *   failed over: it is the revocation signal, and the replica answering would hide it;
 * - describe: the primary, failing over to the replica on a transient answer (the probe describes each side on
 *   its own, see AccessProber);
 * - rewrap (AWS): each form in its own region; validation adds the replica's checks.
 */
export function withReplicas(p: CloudKeyProvider, observer: ProviderCallObserver): CloudKeyProvider {
  const rewrap = p.rewrap?.bind(p);
  const extraChecks = p.extraChecks?.bind(p);
  const pin = p.pin?.bind(p);
  const failover = (ctx: { tenantId?: string; workspaceId?: string }, operation: string, err: ProviderError) =>
    observer.failover({
      provider: p.kind,
      operation,
      fromClass: err.errorClass,
      providerCode: err.providerCode,
      tenantId: ctx.tenantId,
      workspaceId: ctx.workspaceId,
      at: new Date(),
    });

  async function wrap(config: KeyConfig, kek: Buffer, ctx: WrapContext): Promise<WrappedKek> {
    const replica = replicaConfig(config);
    if (!replica) return p.wrap(config, kek, ctx);
    const [primary, second] = await Promise.all([
      p.wrap(primaryConfig(config), kek, ctx),
      p.wrap(replica, kek, ctx).catch((e: unknown) => {
        throw onReplica(e);
      }),
    ]);
    const back = await p.unwrap(replica, second, ctx).catch((e: unknown) => {
      throw onReplica(e);
    });
    try {
      if (back.length !== kek.length || !timingSafeEqual(back, kek))
        throw new ProviderError(
          'ambiguous',
          p.kind,
          'wrap',
          'ReplicaMismatch',
          'the replica key unwrapped the KEK to different bytes',
        );
    } finally {
      back.fill(0);
    }
    return { ciphertext: encodeForms({ primary, replica: second }), keyVersion: primary.keyVersion };
  }

  async function unwrap(config: KeyConfig, wrapped: WrappedKek, ctx: WrapContext): Promise<Buffer> {
    const replica = replicaConfig(config);
    if (!replica) return p.unwrap(config, wrapped, ctx);
    const forms = decodeForms(wrapped.ciphertext, wrapped.keyVersion);
    if (!forms.primary) {
      if (forms.replica)
        return p.unwrap(replica, forms.replica, ctx).catch((e: unknown) => Promise.reject(onReplica(e)));
      throw new ProviderError(
        'invalid_ciphertext',
        p.kind,
        'unwrap',
        'NoWrappedForm',
        'no wrapped form of this KEK is left: the shred deleted every form a key that was not revoked could open',
      );
    }
    try {
      return await p.unwrap(primaryConfig(config), forms.primary, ctx);
    } catch (err) {
      if (!forms.replica || !(err instanceof ProviderError) || !isTransient(err.errorClass)) throw err;
      failover(ctx, 'unwrap', err);
      return p.unwrap(replica, forms.replica, ctx).catch((e: unknown) => Promise.reject(onReplica(e)));
    }
  }

  return {
    kind: p.kind,
    async describe(config: KeyConfig, scope: CallScope): Promise<KeyDescription> {
      const replica = replicaConfig(config);
      if (!replica) return p.describe(config, scope);
      try {
        return await p.describe(primaryConfig(config), scope);
      } catch (err) {
        if (!(err instanceof ProviderError) || !isTransient(err.errorClass)) throw err;
        failover(scope, 'describe', err);
        return p.describe(replica, scope).catch((e: unknown) => {
          throw onReplica(e);
        });
      }
    },
    wrap,
    unwrap,
    ...(rewrap
      ? {
          async rewrap(
            config: KeyConfig,
            wrapped: WrappedKek,
            ctx: WrapContext,
            opts?: { keyVersion?: string | null },
          ): Promise<WrappedKek> {
            const replica = replicaConfig(config);
            if (!replica) return rewrap(config, wrapped, ctx, opts);
            const forms = decodeForms(wrapped.ciphertext, wrapped.keyVersion);
            // A form missing (a reinstated shred kept one side only): unwrap what is left and wrap under both again.
            if (!forms.primary || !forms.replica) {
              const kek = await unwrap(config, wrapped, ctx);
              try {
                return await wrap(config, kek, ctx);
              } finally {
                kek.fill(0);
              }
            }
            const [primary, second] = await Promise.all([
              rewrap(primaryConfig(config), forms.primary, ctx, opts),
              rewrap(replica, forms.replica, ctx).catch((e: unknown) => Promise.reject(onReplica(e))),
            ]);
            // The caller verifies the primary's new form (unwrap + KCV); the replica's must open to the same KEK.
            const settled = await Promise.allSettled([
              p.unwrap(primaryConfig(config), primary, ctx),
              p.unwrap(replica, second, ctx).catch((e: unknown) => Promise.reject(onReplica(e))),
            ]);
            const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
            if (failed) {
              for (const r of settled) if (r.status === 'fulfilled') r.value.fill(0);
              throw failed.reason;
            }
            const [a, b] = settled.map((r) => (r as PromiseFulfilledResult<Buffer>).value);
            try {
              if (a.length !== b.length || !timingSafeEqual(a, b))
                throw new ProviderError(
                  'ambiguous',
                  p.kind,
                  'rewrap',
                  'ReplicaMismatch',
                  'the replica key unwrapped the rewrapped KEK to different bytes',
                );
            } finally {
              a.fill(0);
              b.fill(0);
            }
            return { ciphertext: encodeForms({ primary, replica: second }), keyVersion: primary.keyVersion };
          },
        }
      : {}),
    async extraChecks(config: KeyConfig, scope: CallScope): Promise<ValidationCheck[]> {
      const replica = replicaConfig(config);
      const primary = primaryConfig(config);
      const checks = extraChecks ? await extraChecks(primary, scope) : [];
      if (!replica || checks.some((c) => !c.ok)) return checks;
      if (extraChecks)
        for (const c of await extraChecks(replica, scope)) checks.push({ ...c, name: `replica_${c.name}` });
      checks.push(await replicaCheck(p, primary, replica, scope));
      return checks;
    },
    ...(pin
      ? {
          pin: (config: KeyConfig, d: KeyDescription) =>
            ({ ...pin(primaryConfig(config), d), ...(config.replica ? { replica: config.replica } : {}) }) as KeyConfig,
        }
      : {}),
    explain: (err, check, config) =>
      p.explain(
        err,
        check,
        err instanceof ProviderError && err.message.startsWith('replica key: ')
          ? (replicaConfig(config) ?? config)
          : primaryConfig(config),
      ),
    close: () => p.close(),
  };
}

/**
 * Validation of the replica key itself: it is enabled and can wrap, and (AWS) it decrypts what the primary encrypted
 * under Keyhold's context, which only a replica of the same multi-Region key can: the proof of same key material.
 */
async function replicaCheck(
  p: CloudKeyProvider,
  primary: KeyConfig,
  replica: KeyConfig,
  scope: CallScope & { keyConfigurationId?: string },
): Promise<ValidationCheck> {
  try {
    const d = await p.describe(replica, scope);
    if (d.state !== 'enabled' || !d.usageOk)
      return {
        name: 'replica_key',
        ok: false,
        message: `The replica key is not usable (state ${d.state}, usage ${d.usage}).`,
      };
    if (primary.provider === 'aws') {
      const ctx: WrapContext = {
        tenantId: scope.tenantId,
        workspaceId: 'validation',
        keyConfigurationId: scope.keyConfigurationId ?? 'validation',
        kekVersion: 0,
        purpose: 'validation-probe',
      };
      const probe = randomBytes(32);
      try {
        const w = await p.wrap(primary, probe, ctx);
        const back = await p.unwrap(replica, w, ctx);
        const same = back.length === probe.length && timingSafeEqual(back, probe);
        back.fill(0);
        if (!same)
          return {
            name: 'replica_key',
            ok: false,
            message: 'The replica decrypted the primary key’s ciphertext to different bytes.',
          };
      } finally {
        probe.fill(0);
      }
      return {
        name: 'replica_key',
        ok: true,
        message: 'The replica decrypts what the primary key encrypts: it is a replica of the same multi-Region key.',
      };
    }
    return {
      name: 'replica_key',
      ok: true,
      message: 'The replica key is enabled and can wrap keys; the KEK is wrapped under it independently.',
    };
  } catch (err) {
    return {
      name: 'replica_key',
      ok: false,
      message: `Replica key: ${p.explain(err, 'replica_key', replica)}`,
      errorClass: err instanceof ProviderError ? err.errorClass : 'ambiguous',
    };
  }
}
