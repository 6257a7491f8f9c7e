import { generateKeyPairSync, KeyObject, createPrivateKey, randomBytes } from 'node:crypto';

/** Entra-side and vault-side state of the Azure emulator. Private keys never leave the emulator's process. */

export interface AppRegistration {
  clientId: string;
  clientSecret: string;
  /** Entra tenants in which this (multi-tenant) app has a service principal. */
  tenants: string[];
  displayName: string;
  /** Tenants in which an admin disabled the app's service principal (sign-in refused, AADSTS7000112). */
  disabledIn?: string[];
}

export interface KeyVersion {
  version: string;
  privateKeyPem: string;
  n: string; // base64url
  e: string; // base64url
  keySize: number;
  created: number; // epoch seconds
  updated: number;
  enabled: boolean;
  keyOps: string[];
  /** Key Vault tags (name → value) of this version, as set by create or update; absent when none were set. */
  tags?: Record<string, string>;
  /** `attributes.exp` / `attributes.nbf` (epoch seconds): wrapKey/encrypt refuse outside them, unwrapKey/decrypt do not. */
  exp?: number;
  nbf?: number;
}

export interface VaultKey {
  name: string;
  versions: KeyVersion[]; // oldest first; the last is current
  deleted: boolean;
  /** When it was soft-deleted (epoch seconds); a purge removes the key from the state altogether. */
  deletedDate?: number;
}

export interface AccessGrant {
  /** Entra tenant of the principal. */
  tenantId: string;
  /** App (client) id of the principal. */
  clientId: string;
  /** Key name, or '*' for every key of the vault. */
  key: string;
  /** Key Vault data actions granted: get, wrapKey, unwrapKey, encrypt, decrypt, create, update, delete, rotate, list. */
  ops: string[];
}

export interface AzureState {
  tenants: string[];
  apps: AppRegistration[];
  keys: VaultKey[];
  grants: AccessGrant[];
  /**
   * The vault's permission model: `rbac` (Azure RBAC role assignments, 403 inner `ForbiddenByRbac`) or
   * `accessPolicy` (vault access policies: vault-wide, per identity, 403 inner `AccessDenied`). Absent = rbac.
   */
  permissionModel?: 'rbac' | 'accessPolicy';
  /** The vault firewall (network rules) refuses every data-plane call: 403 inner `ForbiddenByFirewall`. */
  firewall?: { enabled: boolean };
}

export const ALL_KEY_OPS = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey', 'sign', 'verify'];
export const ADMIN_OPS = [
  'get',
  'list',
  'wrapKey',
  'unwrapKey',
  'encrypt',
  'decrypt',
  'create',
  'update',
  'delete',
  'rotate',
  'recover',
  'purge',
];

export function newKeyVersion(keySize: number, keyOps: string[], now = Math.floor(Date.now() / 1000)): KeyVersion {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: keySize, publicExponent: 0x10001 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  return {
    version: randomBytes(16).toString('hex'),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    n: jwk.n,
    e: jwk.e,
    keySize,
    created: now,
    updated: now,
    enabled: true,
    keyOps: [...keyOps],
  };
}

const keyObjects = new WeakMap<KeyVersion, KeyObject>();

/** Parsed private key, cached per version object (RSA PEM parsing is not free). */
export function privateKeyOf(v: KeyVersion): KeyObject {
  let k = keyObjects.get(v);
  if (!k) {
    k = createPrivateKey(v.privateKeyPem);
    keyObjects.set(v, k);
  }
  return k;
}

export function isAzureState(x: unknown): x is AzureState {
  const s = x as AzureState;
  return !!s && Array.isArray(s.tenants) && Array.isArray(s.apps) && Array.isArray(s.keys) && Array.isArray(s.grants);
}
