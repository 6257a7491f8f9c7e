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

export class Vault {
  constructor(
    private readonly state: () => AzureState,
    private readonly origin: () => string,
  ) {}

  kid(name: string, v: KeyVersion): string {
    return `${this.origin()}/keys/${name}/${v.version}`;
  }

  bundle(key: VaultKey, v: KeyVersion): Record<string, unknown> {
    return {
      key: { kid: this.kid(key.name, v), kty: 'RSA', key_ops: v.keyOps, n: v.n, e: v.e },
      attributes: {
        enabled: v.enabled,
        created: v.created,
        updated: v.updated,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
        exportable: false,
      },
      // Key Vault answers `tags` only when the version has some.
      ...(v.tags && Object.keys(v.tags).length ? { tags: { ...v.tags } } : {}),
    };
  }

  create(name: string, body: { kty?: unknown; key_size?: unknown; key_ops?: unknown; attributes?: { enabled?: unknown }; tags?: unknown }): Record<string, unknown> {
    if (!NAME.test(name)) throw new VaultError(400, 'BadParameter', 'The key name is invalid: use 1-127 letters, digits and dashes.');
    const kty = body.kty ?? 'RSA';
    if (kty !== 'RSA' && kty !== 'RSA-HSM') throw new VaultError(400, 'BadParameter', `Key type ${String(kty)} is not supported by this emulator (RSA, RSA-HSM).`);
    const size = body.key_size ?? 2048;
    if (size !== 2048 && size !== 3072 && size !== 4096) throw new VaultError(400, 'BadParameter', 'key_size must be 2048, 3072 or 4096.');
    const ops = Array.isArray(body.key_ops) ? body.key_ops.map(String) : ALL_KEY_OPS;
    const v = newKeyVersion(size, ops);
    if (body.attributes?.enabled === false) v.enabled = false;
    if (body.tags !== undefined) v.tags = parseTags(body.tags);
    const s = this.state();
    let key = s.keys.find((k) => k.name === name);
    if (key && key.deleted) throw new VaultError(409, 'Conflict', `Key ${name} is currently in a deleted but recoverable state.`);
    if (!key) {
      key = { name, versions: [], deleted: false };
      s.keys.push(key);
    }
    key.versions.push(v);
    return this.bundle(key, v);
  }

  find(name: string): VaultKey {
    const key = this.state().keys.find((k) => k.name === name && !k.deleted);
    if (!key) throw new VaultError(404, 'KeyNotFound', `A key with (name/id) ${name} was not found in this key vault.`);
    return key;
  }

  version(key: VaultKey, version: string | undefined): KeyVersion {
    if (!version) return key.versions[key.versions.length - 1];
    if (!VERSION.test(version)) throw new VaultError(404, 'KeyNotFound', `A key with (name/id) ${key.name}/${version} was not found in this key vault.`);
    const v = key.versions.find((x) => x.version === version);
    if (!v) throw new VaultError(404, 'KeyNotFound', `A key with (name/id) ${key.name}/${version} was not found in this key vault.`);
    return v;
  }

  /** GET of a key (latest or one version). Like Key Vault, a disabled version is not returned: 403 KeyDisabled. */
  get(name: string, version: string | undefined): Record<string, unknown> {
    const key = this.find(name);
    const v = this.version(key, version);
    if (!v.enabled) throw new VaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled key.', 'KeyDisabled');
    return this.bundle(key, v);
  }

  listVersions(name: string): Record<string, unknown> {
    const key = this.find(name);
    return {
      value: key.versions.map((v) => ({ kid: this.kid(name, v), attributes: this.bundle(key, v).attributes })),
      nextLink: null,
    };
  }

  update(name: string, version: string | undefined, body: { attributes?: { enabled?: unknown }; key_ops?: unknown; tags?: unknown }): Record<string, unknown> {
    const key = this.find(name);
    const v = this.version(key, version);
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

  delete(name: string): Record<string, unknown> {
    const key = this.find(name);
    key.deleted = true;
    return this.deletedBundle(key);
  }

  deleted(name: string): Record<string, unknown> {
    const key = this.state().keys.find((k) => k.name === name && k.deleted);
    if (!key) throw new VaultError(404, 'KeyNotFound', `Deleted Key not found: ${name}`);
    return this.deletedBundle(key);
  }

  private deletedBundle(key: VaultKey): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    const v = key.versions[key.versions.length - 1];
    return {
      ...this.bundle(key, v),
      recoveryId: `${this.origin()}/deletedkeys/${key.name}`,
      deletedDate: now,
      scheduledPurgeDate: now + 90 * 86400,
    };
  }

  /** wrapKey/encrypt (RSA-OAEP-256 or RSA-OAEP) with the public half of the version. */
  wrap(name: string, version: string | undefined, op: 'wrapKey' | 'encrypt', body: { alg?: unknown; value?: unknown }): Record<string, unknown> {
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
  unwrap(name: string, version: string | undefined, op: 'unwrapKey' | 'decrypt', body: { alg?: unknown; value?: unknown }): Record<string, unknown> {
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
    if (!v.enabled) throw new VaultError(403, 'Forbidden', `Operation ${op} is not allowed on a disabled key.`, 'KeyDisabled');
    if (!v.keyOps.includes(op)) throw new VaultError(403, 'Forbidden', `Operation ${op} is not permitted for this key.`, 'KeyOperationForbidden');
    return v;
  }
}

function oaepHash(alg: unknown): 'sha256' | 'sha1' {
  if (alg === 'RSA-OAEP-256') return 'sha256';
  if (alg === 'RSA-OAEP') return 'sha1';
  throw new VaultError(400, 'BadParameter', `Algorithm ${String(alg)} is not supported for this key (RSA-OAEP-256, RSA-OAEP).`);
}

function b64urlInput(value: unknown): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(value) || value.length === 0)
    throw new VaultError(400, 'BadParameter', 'The parameter is incorrect.');
  return Buffer.from(value, 'base64url');
}

/** Key Vault's tag limits: at most 15 tags, names up to 512 characters, values up to 256, all strings. */
export function parseTags(raw: unknown): Record<string, string> {
  if (raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new VaultError(400, 'BadParameter', 'tags must be an object of string values.');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > 15) throw new VaultError(400, 'BadParameter', 'A key can have at most 15 tags.');
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (k.length === 0 || k.length > 512) throw new VaultError(400, 'BadParameter', 'Tag names must be 1-512 characters.');
    if (typeof v !== 'string' || v.length > 256) throw new VaultError(400, 'BadParameter', `Tag ${k} must have a string value of at most 256 characters.`);
    out[k] = v;
  }
  return out;
}
