import { createHash, randomBytes } from 'node:crypto';

/**
 * One-time link tokens (invitations, password resets): 256 random bits, sent only to the recipient's mailbox.
 * The database keeps a SHA-256 of the token, never the token: a leaked row or backup accepts nothing. A fast hash is
 * enough here because the token is uniformly random (nothing to brute-force), unlike a password.
 */
export function newOneTimeToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashOneTimeToken(token) };
}

export function hashOneTimeToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A token as sent is 43 base64url characters; anything else names no link (404 without a lookup). */
export const ONE_TIME_TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
