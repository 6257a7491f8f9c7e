import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { ApiError } from '../api/errors';

/**
 * The browser's passkey prompts (WebAuthn through @simplewebauthn/browser). The options come from the API with a
 * single-use challenge; a prompt the user cancels or that times out becomes an ApiError the alerts can word.
 */
export async function createPasskey(options: Record<string, unknown>) {
  try {
    return asApiJson(
      await startRegistration({
        optionsJSON: options as unknown as Parameters<typeof startRegistration>[0]['optionsJSON'],
      }),
    );
  } catch (err) {
    throw cancelled(err);
  }
}

export async function signWithPasskey(options: Record<string, unknown>) {
  try {
    return asApiJson(
      await startAuthentication({
        optionsJSON: options as unknown as Parameters<typeof startAuthentication>[0]['optionsJSON'],
      }),
    );
  } catch (err) {
    throw cancelled(err);
  }
}

/**
 * The library's JSON is what the API parses; only its extension outputs are typed without the index signature the
 * API's schema (a JSON object) has.
 */
function asApiJson<C extends { clientExtensionResults: object }>(
  c: C,
): C & { clientExtensionResults: Record<string, unknown> } {
  const clientExtensionResults: Record<string, unknown> = Object.fromEntries(Object.entries(c.clientExtensionResults));
  return { ...c, clientExtensionResults };
}

function cancelled(err: unknown): ApiError {
  const name = (err as Error)?.name ?? '';
  const message = (err as Error)?.message ?? String(err);
  if (name === 'NotAllowedError' || /cancel|timed out|not allowed/i.test(message))
    return new ApiError(0, 'WEBAUTHN_CANCELLED', message);
  if (/already registered|InvalidStateError/i.test(`${name} ${message}`))
    return new ApiError(409, 'PASSKEY_ALREADY_REGISTERED', message);
  return new ApiError(0, 'WEBAUTHN_VERIFICATION_FAILED', message);
}
