import { randomBytes } from 'node:crypto';
import { evaluateCondition, type ConditionContext } from './conditions';
import type { IamBinding } from './state';

/** Permissions the emulator checks, named as Cloud KMS names them (they appear in PERMISSION_DENIED messages). */
export const PERM = {
  get: 'cloudkms.cryptoKeys.get',
  encrypt: 'cloudkms.cryptoKeyVersions.useToEncrypt',
  decrypt: 'cloudkms.cryptoKeyVersions.useToDecrypt',
  admin: 'cloudkms.cryptoKeys.update',
  getIam: 'cloudkms.cryptoKeys.getIamPolicy',
  setIam: 'cloudkms.cryptoKeys.setIamPolicy',
} as const;
export type Permission = (typeof PERM)[keyof typeof PERM];

const ALL: Permission[] = Object.values(PERM);

/** The predefined roles Keyhold's customers grant; anything else grants nothing. */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly Permission[]>> = {
  'roles/cloudkms.cryptoKeyEncrypterDecrypter': [PERM.encrypt, PERM.decrypt],
  'roles/cloudkms.cryptoKeyEncrypter': [PERM.encrypt],
  'roles/cloudkms.cryptoKeyDecrypter': [PERM.decrypt],
  'roles/cloudkms.viewer': [PERM.get, PERM.getIam],
  'roles/cloudkms.admin': [PERM.get, PERM.admin, PERM.getIam, PERM.setIam],
  'roles/owner': ALL,
};

/** Who is calling. `owner` is the implicit project owner used by calls that carry no identity at all. */
export interface Caller {
  /** IAM member form: `serviceAccount:…`, `user:…`. */
  member: string;
  owner: boolean;
}

/**
 * Whether any binding grants `perm` to the caller (policies of the resource and its ancestors: key, key ring,
 * project). A conditional binding grants only while its condition holds for this request (`request`).
 */
export function allowed(
  caller: Caller,
  perm: Permission,
  policies: ReadonlyArray<{ bindings: IamBinding[] }>,
  request?: ConditionContext,
): boolean {
  if (caller.owner) return true;
  for (const p of policies) {
    for (const b of p.bindings) {
      if (!b.members.includes(caller.member)) continue;
      if (!ROLE_PERMISSIONS[b.role]?.includes(perm)) continue;
      if (b.condition && !(request && evaluateCondition(b.condition.expression, request))) continue;
      return true;
    }
  }
  return false;
}

interface IssuedToken {
  member: string;
  expiresAt: number;
}

/**
 * OAuth access tokens the emulated IAM Credentials API issued, plus the vendor's static token. Tokens are
 * opaque random strings; the emulator maps them back to the principal on every KMS call.
 */
export class TokenRegistry {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(
    private readonly staticTokens: ReadonlyMap<string, string>,
    private readonly now: () => number = Date.now,
  ) {}

  issue(member: string, lifetimeSeconds: number): { token: string; expiresAt: number } {
    const token = `ya29.emu-${randomBytes(24).toString('base64url')}`;
    const expiresAt = this.now() + lifetimeSeconds * 1000;
    this.tokens.set(token, { member, expiresAt });
    return { token, expiresAt };
  }

  /** The member a bearer token stands for; 'expired' or null (unknown) otherwise. */
  resolve(token: string): string | 'expired' | null {
    const fixed = this.staticTokens.get(token);
    if (fixed) return fixed;
    const t = this.tokens.get(token);
    if (!t) return null;
    if (t.expiresAt <= this.now()) return 'expired';
    return t.member;
  }

  /** Revoke every token issued to a member (or all when member is omitted). Returns how many were revoked. */
  revoke(member?: string): number {
    let n = 0;
    for (const [tok, t] of this.tokens) {
      if (member === undefined || t.member === member) {
        this.tokens.delete(tok);
        n++;
      }
    }
    return n;
  }

  /** Expire (but keep) every token of a member, so callers see "expired" rather than "unknown". */
  expire(member: string): number {
    let n = 0;
    for (const t of this.tokens.values()) {
      if (t.member === member) {
        t.expiresAt = 0;
        n++;
      }
    }
    return n;
  }

  /** Listing for the admin API: principals and expiry only, never the token strings. */
  list(): Array<{ member: string; expiresAt: string }> {
    return [...this.tokens.values()].map((t) => ({ member: t.member, expiresAt: new Date(t.expiresAt).toISOString() }));
  }

  clear(): void {
    this.tokens.clear();
  }
}
