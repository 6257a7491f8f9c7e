import { constants, privateDecrypt, publicEncrypt, createPublicKey } from 'node:crypto';
import { ALL_KEY_OPS, AzureState, KeyVersion, newKeyVersion, privateKeyOf, VaultKey } from './state';

/** Key Vault key operations over the emulator state. Errors carry Key Vault's own status, code and inner code. */

export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
  ) {
    super(message);
  }
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const VERSION = /^[0-9a-f]{32}$/;
const RETENTION_DAYS = 90;

/** What propagation delays about a key: whether it is deleted and which versions are enabled. */
export interface KeyStateView {
  deleted: boolean;
  enabled: Record<string, boolean>;
}

/** Propagation hooks of the vault (the emulator's; identity when propagation is off). */
export interface KeyStatePropagation {
  changing(subject: string, before: KeyStateView): void;
  view(subject: string, current: KeyStateView): KeyStateView;
}

const NO_PROPAGATION: KeyStatePropagation = { changing: () => undefined, view: (_s, c) => c };

export class Vault {
  constructor(
    private readonly state: () => AzureState,
    private readonly origin: () => string,
    private readonly propagation: KeyStatePropagation = NO_PROPAGATION,
  ) {}

  /** Call before changing a key's deleted/enabled state, so that the change propagates (when switched on). */
  changing(key: VaultKey): void {
    this.propagation.changing(`key:${key.name}`, stateOf(key));
  }

  /** The key's deleted/enabled state as this read sees it (an older one while a change propagates). */
  private seen(key: VaultKey): KeyStateView {
    return this.propagation.view(`key:${key.name}`, stateOf(key));
  }

  kid(name: string, v: KeyVersion): string {
    return `${this.origin()}/keys/${name}/${v.version}`;
  }

  bundle(key: VaultKey, v: KeyVersion): Record<string, unknown> {
    return {
      key: { kid: this.kid(key.name, v), kty: 'RSA', key_ops: v.keyOps, n: v.n, e: v.e },
      attributes: {
        enabled: v.enabled,
        ...(v.nbf !== undefined ? { nbf: v.nbf } : {}),
        ...(v.exp !== undefined ? { exp: v.exp } : {}),
        created: v.created,
        updated: v.updated,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: RETENTION_DAYS,
        exportable: false,
      },
      // Key Vault answers `tags` only when the version has some.
      ...(v.tags && Object.keys(v.tags).length ? { tags: { ...v.tags } } : {}),
    };
  }

  create(
    name: string,
    body: {
      kty?: unknown;
      key_size?: unknown;
      key_ops?: unknown;
      attributes?: { enabled?: unknown; exp?: unknown; nbf?: unknown };
      tags?: unknown;
    },
  ): Record<string, unknown> {
    if (!NAME.test(name))
      throw new VaultError(400, 'BadParameter', 'The key name is invalid: use 1-127 letters, digits and dashes.');
    const kty = body.kty ?? 'RSA';
    if (kty !== 'RSA' && kty !== 'RSA-HSM')
      throw new VaultError(
        400,
        'BadParameter',
        `Key type ${String(kty)} is not supported by this emulator (RSA, RSA-HSM).`,
      );
    const size = body.key_size ?? 2048;
    if (size !== 2048 && size !== 3072 && size !== 4096)
      throw new VaultError(400, 'BadParameter', 'key_size must be 2048, 3072 or 4096.');
    const ops = Array.isArray(body.key_ops) ? body.key_ops.map(String) : ALL_KEY_OPS;
    const v = newKeyVersion(size, ops);
    if (body.attributes?.enabled === false) v.enabled = false;
    applyValidity(v, body.attributes);
    if (body.tags !== undefined) v.tags = parseTags(body.tags);
    const s = this.state();
    let key = s.keys.find((k) => k.name === name);
    if (key && key.deleted)
      throw new VaultError(409, 'Conflict', `Key ${name} is currently in a deleted but recoverable state.`);
    if (!key) {
      key = { name, versions: [], deleted: false };
      s.keys.push(key);
    }
    key.versions.push(v);
    return this.bundle(key, v);
  }

  find(name: string): VaultKey {
    const key = this.state().keys.find((k) => k.name === name);
    if (!key || this.seen(key).deleted)
      throw new VaultError(404, 'KeyNotFound', `A key with (name/id) ${name} was not found in this key vault.`);
    return key;
  }

  private enabled(key: VaultKey, v: KeyVersion): boolean {
    return this.seen(key).enabled[v.version] ?? v.enabled;
  }

  version(key: VaultKey, version: string | undefined): KeyVersion {
    if (!version) return key.versions[key.versions.length - 1];
    if (!VERSION.test(version))
      throw new VaultError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${key.name}/${version} was not found in this key vault.`,
      );
    const v = key.versions.find((x) => x.version === version);
    if (!v)
      throw new VaultError(
        404,
        'KeyNotFound',
        `A key with (name/id) ${key.name}/${version} was not found in this key vault.`,
      );
    return v;
  }

  /** GET of a key (latest or one version). Like Key Vault, a disabled version is not returned: 403 KeyDisabled. */
  get(name: string, version: string | undefined): Record<string, unknown> {
    const key = this.find(name);
    const v = this.version(key, version);
    if (!this.enabled(key, v))
      throw new VaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled key.', 'KeyDisabled');
    return this.bundle(key, v);
  }

  listVersions(name: string): Record<string, unknown> {
    const key = this.find(name);
    return {
      value: key.versions.map((v) => ({ kid: this.kid(name, v), attributes: this.bundle(key, v).attributes })),
      nextLink: null,
    };
  }

  update(
    name: string,
    version: string | undefined,
    body: { attributes?: { enabled?: unknown; exp?: unknown; nbf?: unknown }; key_ops?: unknown; tags?: unknown },
  ): Record<string, unknown> {
    const key = this.find(name);
    const v = this.version(key, version);
    if (typeof body.attributes?.enabled === 'boolean' && body.attributes.enabled !== v.enabled) this.changing(key);
    applyValidity(v, body.attributes);
    // Tags, when sent, replace the version's tags as a whole (as `az keyvault key set-attributes --tags` does).
    if (body.tags !== undefined) v.tags = parseTags(body.tags);
    if (typeof body.attributes?.enabled === 'boolean') v.enabled = body.attributes.enabled;
    if (Array.isArray(body.key_ops)) v.keyOps = body.key_ops.map(String);
    v.updated = Math.floor(Date.now() / 1000);
    return this.bundle(key, v);
  }

  rotate(name: string): Record<string, unknown> {
    const key = this.find(name);
    const cur = key.versions[key.versions.length - 1];
    const v = newKeyVersion(cur.keySize, cur.keyOps);
    // A rotated version starts with the tags of the version it replaces.
    if (cur.tags) v.tags = { ...cur.tags };
    key.versions.push(v);
    return this.bundle(key, v);
  }

  /** Soft delete (the vault's only kind): the key answers 404 until recovered, and its material is kept until purged. */
  delete(name: string): Record<string, unknown> {
    const key = this.find(name);
    this.changing(key);
    key.deleted = true;
    key.deletedDate = Math.floor(Date.now() / 1000);
    return this.deletedBundle(key);
  }

  private deletedKey(name: string): VaultKey {
    const key = this.state().keys.find((k) => k.name === name && k.deleted);
    if (!key) throw new VaultError(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
    return key;
  }

  deleted(name: string): Record<string, unknown> {
    return this.deletedBundle(this.deletedKey(name));
  }

  /** POST /deletedkeys/{name}/recover: the key comes back with every version, as it was when deleted. */
  recover(name: string): Record<string, unknown> {
    const key = this.deletedKey(name);
    this.changing(key);
    key.deleted = false;
    delete key.deletedDate;
    const v = key.versions[key.versions.length - 1];
    return this.bundle(key, v);
  }

  /** DELETE /deletedkeys/{name}: the key and all its material are gone for good. */
  purge(name: string): void {
    const key = this.deletedKey(name);
    const s = this.state();
    s.keys = s.keys.filter((k) => k !== key);
    for (const v of key.versions) v.privateKeyPem = '';
  }

  private deletedBundle(key: VaultKey): Record<string, unknown> {
    const deletedDate = key.deletedDate ?? Math.floor(Date.now() / 1000);
    const v = key.versions[key.versions.length - 1];
    return {
      ...this.bundle(key, v),
      recoveryId: `${this.origin()}/deletedkeys/${key.name}`,
      deletedDate,
      scheduledPurgeDate: deletedDate + RETENTION_DAYS * 86400,
    };
  }

  /** wrapKey/encrypt (RSA-OAEP-256 or RSA-OAEP) with the public half of the version. */
  wrap(
    name: string,
    version: string | undefined,
    op: 'wrapKey' | 'encrypt',
    body: { alg?: unknown; value?: unknown },
  ): Record<string, unknown> {
    const key = this.find(name);
    const v = this.usable(key, version, op);
    const hash = oaepHash(body.alg);
    const value = b64urlInput(body.value);
    const pub = createPublicKey({ key: { kty: 'RSA', n: v.n, e: v.e }, format: 'jwk' });
    const maxLen = v.keySize / 8 - 2 * (hash === 'sha256' ? 32 : 20) - 2;
    if (value.length > maxLen) throw new VaultError(400, 'BadParameter', 'The parameter is incorrect.');
    const out = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, value);
    return { kid: this.kid(name, v), value: out.toString('base64url') };
  }

  /** unwrapKey/decrypt with the private half: a ciphertext that does not decrypt is 400 BadParameter, as in Key Vault. */
  unwrap(
    name: string,
    version: string | undefined,
    op: 'unwrapKey' | 'decrypt',
    body: { alg?: unknown; value?: unknown },
  ): Record<string, unknown> {
    const key = this.find(name);
    const v = this.usable(key, version, op);
    const hash = oaepHash(body.alg);
    const value = b64urlInput(body.value);
    let out: Buffer;
    try {
      out = privateDecrypt({ key: privateKeyOf(v), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, value);
    } catch {
      throw new VaultError(400, 'BadParameter', 'The parameter is incorrect.\r\n');
    }
    const answer = { kid: this.kid(name, v), value: out.toString('base64url') };
    out.fill(0);
    return answer;
  }

  private usable(key: VaultKey, version: string | undefined, op: string): KeyVersion {
    const v = this.version(key, version);
    if (!this.enabled(key, v))
      throw new VaultError(403, 'Forbidden', `Operation ${op} is not allowed on a disabled key.`, 'KeyDisabled');
    if (!v.keyOps.includes(op))
      throw new VaultError(403, 'Forbidden', `Operation ${op} is not permitted for this key.`, 'KeyOperationForbidden');
    // Key Vault's date-time controlled operations: outside nbf/exp a key refuses encrypt and wrapKey with 403, while
    // decrypt, unwrapKey and verify keep working (so data sealed while the key was valid can still be recovered).
    if (op === 'wrapKey' || op === 'encrypt') {
      const now = Math.floor(Date.now() / 1000);
      if (v.exp !== undefined && now >= v.exp)
        throw new VaultError(403, 'Forbidden', `Operation ${op} is not allowed on an expired key.`);
      if (v.nbf !== undefined && now < v.nbf)
        throw new VaultError(403, 'Forbidden', `Operation ${op} is not allowed on a key that is not yet valid.`);
    }
    return v;
  }
}

function stateOf(key: VaultKey): KeyStateView {
  return { deleted: key.deleted, enabled: Object.fromEntries(key.versions.map((v) => [v.version, v.enabled])) };
}

/** `attributes.exp` / `attributes.nbf`: epoch seconds (as Key Vault's JSON carries them); null clears. */
function applyValidity(v: KeyVersion, attributes: { exp?: unknown; nbf?: unknown } | undefined): void {
  for (const f of ['exp', 'nbf'] as const) {
    const raw = attributes?.[f];
    if (raw === undefined) continue;
    if (raw === null) {
      delete v[f];
      continue;
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0)
      throw new VaultError(400, 'BadParameter', `attributes.${f} must be a time in seconds since the epoch.`);
    v[f] = Math.floor(raw);
  }
}

function oaepHash(alg: unknown): 'sha256' | 'sha1' {
  if (alg === 'RSA-OAEP-256') return 'sha256';
  if (alg === 'RSA-OAEP') return 'sha1';
  throw new VaultError(
    400,
    'BadParameter',
    `Algorithm ${String(alg)} is not supported for this key (RSA-OAEP-256, RSA-OAEP).`,
  );
}

function b64urlInput(value: unknown): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(value) || value.length === 0)
    throw new VaultError(400, 'BadParameter', 'The parameter is incorrect.');
  return Buffer.from(value, 'base64url');
}

/** Key Vault's tag limits: at most 15 tags, names up to 512 characters, values up to 256, all strings. */
export function parseTags(raw: unknown): Record<string, string> {
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new VaultError(400, 'BadParameter', 'tags must be an object of string values.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > 15) throw new VaultError(400, 'BadParameter', 'A key can have at most 15 tags.');
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 512)
      throw new VaultError(400, 'BadParameter', 'Tag names must be 1-512 characters.');
    if (typeof v !== 'string' || v.length > 256)
      throw new VaultError(400, 'BadParameter', `Tag ${k} must have a string value of at most 256 characters.`);
    out[k] = v;
  }
  return out;
}
