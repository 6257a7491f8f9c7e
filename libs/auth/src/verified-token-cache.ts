import type { AccessClaims, TokenSigner } from './tokens';

/**
 * Hot-path token verification: a verified token's claims are kept until it expires, so a warm request costs
 * one Map lookup instead of an HMAC. Bounded; failures are not cached (they are cheap to recompute and must
 * not let an attacker fill the map).
 */
export class VerifiedTokenCache {
  private readonly map = new Map<string, AccessClaims>();

  constructor(
    private readonly signer: TokenSigner,
    private readonly audience: AccessClaims['aud'],
    private readonly maxEntries = 10_000,
  ) {}

  verify(token: string): AccessClaims {
    const hit = this.map.get(token);
    const now = Date.now();
    if (hit && hit.exp * 1000 > now) return hit;
    if (hit) this.map.delete(token);
    const claims = this.signer.verify(token, this.audience, now);
    if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value as string);
    this.map.set(token, claims);
    return claims;
  }

  /** Forget every cached token of a principal (e.g. disabled service principal). */
  dropSubject(sub: string): void {
    for (const [k, c] of this.map) if (c.sub === sub) this.map.delete(k);
  }
}
