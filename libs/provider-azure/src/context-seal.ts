import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalContext, ProviderError, WrapContext } from '@app/provider-port';

/**
 * RSA-OAEP key wrap has no AAD (Key Vault's `aad` field is for symmetric Managed HSM keys only), so the context is bound inside the wrapped payload:
 *   payload = 0x01 ‖ KEK (32 B) ‖ HMAC-SHA256(key = KEK, canonicalContext(ctx))   (65 B, fits RSA-2048 OAEP-256)
 * After unwrap the MAC is recomputed for the expected context and compared in constant time: a wrapped KEK
 * moved to another tenant, workspace, configuration or version is refused as invalid_ciphertext.
 */
const VERSION = 0x01;
const KEK_LEN = 32;
const MAC_LEN = 32;
export const SEALED_LEN = 1 + KEK_LEN + MAC_LEN;

export function seal(kek: Buffer, ctx: WrapContext): Buffer {
  if (kek.length !== KEK_LEN) throw new Error('a KEK is 32 bytes');
  const out = Buffer.alloc(SEALED_LEN);
  out[0] = VERSION;
  kek.copy(out, 1);
  createHmac('sha256', kek)
    .update(canonicalContext(ctx))
    .digest()
    .copy(out, 1 + KEK_LEN);
  return out;
}

/** Returns the KEK (caller zeroes it) or throws invalid_ciphertext; zeroes the payload in every case. */
export function open(payload: Buffer, ctx: WrapContext): Buffer {
  try {
    if (payload.length !== SEALED_LEN || payload[0] !== VERSION)
      throw new ProviderError(
        'invalid_ciphertext',
        'azure',
        'unwrap',
        'ContextMismatch',
        'The wrapped key does not have the expected format.',
      );
    const kek = Buffer.from(payload.subarray(1, 1 + KEK_LEN));
    const expected = createHmac('sha256', kek).update(canonicalContext(ctx)).digest();
    const ok = timingSafeEqual(expected, payload.subarray(1 + KEK_LEN));
    expected.fill(0);
    if (!ok) {
      kek.fill(0);
      throw new ProviderError(
        'invalid_ciphertext',
        'azure',
        'unwrap',
        'ContextMismatch',
        'The wrapped key belongs to another context (tenant, workspace, configuration or version).',
      );
    }
    return kek;
  } finally {
    payload.fill(0);
  }
}
