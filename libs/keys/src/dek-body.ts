import { isUuid } from '@app/persistence';

/**
 * The DEK route's answer, `{"dek":"<base64>","dekId":"<uuid>","kekVersion":<n>}`, built without JSON.stringify:
 * the DEK is base64, the id a UUID and the version an integer, none of which ever needs escaping (the id is
 * asserted, so a surprise can only fail closed into JSON.stringify, which yields the same layout).
 *
 * This encoded form is also what the plaintext DEK cache holds (one slab slot per DEK), so a warm request copies
 * one slot into its response instead of unwrapping; the batch path reads the key back at DEK_B64_FROM..DEK_B64_TO.
 */
export const DEK_B64_FROM = '{"dek":"'.length;
/** A 32-byte key is 44 base64 characters. */
export const DEK_B64_TO = DEK_B64_FROM + 44;

export function encodeDekBody(dekBase64: string, dekId: string, kekVersion: number): string {
  if (!isUuid(dekId) || dekBase64.length !== 44) return JSON.stringify({ dek: dekBase64, dekId, kekVersion });
  return `{"dek":"${dekBase64}","dekId":"${dekId}","kekVersion":${kekVersion}}`;
}
