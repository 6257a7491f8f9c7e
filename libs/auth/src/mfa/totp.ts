import { generateSecret, generateURI, verify } from 'otplib';

/** RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30;
const CODE_RE = /^\d{6}$/;

/** A fresh 160-bit TOTP seed (base32) and the otpauth:// URI an authenticator app imports (QR code or paste). */
export function newTotpSecret(issuer: string, account: string): { secret: string; uri: string } {
  const secret = generateSecret({ length: 20 });
  return { secret, uri: generateURI({ issuer, label: account, secret }) };
}

/**
 * The time step a code belongs to, or null. One step either side is accepted (clock drift); `afterStep` refuses a
 * step at or before the last one used, so a code — or an older one still inside the window — works only once.
 */
export async function totpStep(
  secret: string,
  code: string,
  afterStep: number | null,
  nowMs = Date.now(),
): Promise<number | null> {
  if (typeof code !== 'string' || !CODE_RE.test(code)) return null;
  const r = await verify({
    secret,
    token: code,
    epoch: Math.floor(nowMs / 1000),
    epochTolerance: TOTP_PERIOD_SECONDS,
    ...(afterStep !== null ? { afterTimeStep: afterStep } : {}),
  });
  return r.valid && 'timeStep' in r ? r.timeStep : null;
}
