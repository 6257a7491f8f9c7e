import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'keyhold-signature';

/**
 * `Keyhold-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The timestamp is inside the
 * MAC so a receiver can refuse replays older than its tolerance; the dedup id of each event catches the rest.
 * During a rotation's overlap there is one `v1=` per live secret (newest first): a receiver holding either verifies.
 */
export function signBody(
  secrets: string | readonly string[],
  body: Buffer | string,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const macs = (typeof secrets === 'string' ? [secrets] : secrets).map(
    (k) => `v1=${createHmac('sha256', k).update(`${nowSeconds}.`).update(body).digest('hex')}`,
  );
  return `t=${nowSeconds},${macs.join(',')}`;
}

/** What a receiver does (and what docs/AUDIT.md shows): constant-time compare, bounded clock skew. */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: Buffer | string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.split('=', 2) as [string, string]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return parts.some(
    ([k, v]) => k === 'v1' && /^[0-9a-f]{64}$/.test(v ?? '') && timingSafeEqual(expected, Buffer.from(v, 'hex')),
  );
}
