import { randomBytes } from 'node:crypto';
import type { WrapContext } from './context';
import { ProviderError } from './errors';
import type { CallScope, KeyConfig, KeyProvider, ValidationCheck, ValidationReport } from './port';

/**
 * Runs every validation check for a configuration and reports each result in words an admin can act on.
 * Order: provider-specific checks (credentials, role assumption, ExternalId enforcement), describe (state,
 * usage, spec), then a wrap/unwrap round trip under a validation context. A failed check never throws.
 */
export async function runValidation<C extends KeyConfig>(
  provider: KeyProvider<C> & {
    explain(err: unknown, check: string, config: C): string;
    pin?(config: C, description: import('./port').KeyDescription): C;
  },
  config: C,
  scope: CallScope & { keyConfigurationId: string },
): Promise<ValidationReport> {
  const checks: ValidationCheck[] = [{ name: 'identifier', ok: true, message: 'The key identifier is well formed.' }];
  let pinned: C = config;

  if (provider.extraChecks) {
    const extra = await provider.extraChecks(config, scope);
    checks.push(...extra);
    if (extra.some((c) => !c.ok)) return { ok: false, checks, pinned };
  }

  let description;
  try {
    description = await provider.describe(config, scope);
  } catch (err) {
    checks.push(failed('key_access', provider.explain(err, 'describe', config), err));
    return { ok: false, checks, pinned };
  }
  if (provider.pin) pinned = provider.pin(config, description);

  const stateOk = description.state === 'enabled';
  checks.push({
    name: 'key_state',
    ok: stateOk,
    message: stateOk ? 'The key is enabled.' : stateMessage(description.state),
  });
  checks.push({
    name: 'key_usage',
    ok: description.usageOk,
    message: description.usageOk
      ? `The key can wrap keys (${description.usage}, ${description.spec}).`
      : `The key cannot wrap keys: its usage is ${description.usage} (${description.spec}). Create a key for symmetric encryption (AWS: ENCRYPT_DECRYPT / SYMMETRIC_DEFAULT; GCP: ENCRYPT_DECRYPT) or an RSA key with wrapKey/unwrapKey (Azure).`,
  });
  if (!stateOk || !description.usageOk) return { ok: false, checks, pinned, description };

  const ctx: WrapContext = {
    tenantId: scope.tenantId,
    workspaceId: 'validation',
    keyConfigurationId: scope.keyConfigurationId,
    kekVersion: 0,
    purpose: 'validation-probe',
  };
  const probe = randomBytes(32);
  try {
    const wrapped = await provider.wrap(pinned, probe, ctx);
    const back = await provider.unwrap(pinned, wrapped, ctx);
    const same = back.length === probe.length && back.equals(probe);
    back.fill(0);
    checks.push({
      name: 'round_trip',
      ok: same,
      message: same
        ? 'Keyhold wrapped and unwrapped a test key with the bound context.'
        : 'The key unwrapped a test key to different bytes: the key service is not behaving correctly.',
    });
    if (same) {
      const wrongCtx: WrapContext = { ...ctx, workspaceId: 'validation-other' };
      try {
        const leaked = await provider.unwrap(pinned, wrapped, wrongCtx);
        leaked.fill(0);
        checks.push({
          name: 'context_binding',
          ok: false,
          message: 'The key unwrapped a test key under a different context: context binding is not enforced.',
        });
      } catch (err) {
        const ok = err instanceof ProviderError && err.errorClass === 'invalid_ciphertext';
        checks.push({
          name: 'context_binding',
          ok,
          message: ok
            ? 'A wrapped key moved to another context is refused.'
            : provider.explain(err, 'context_binding', config),
          errorClass: err instanceof ProviderError ? err.errorClass : undefined,
        });
      }
    }
  } catch (err) {
    checks.push(failed('round_trip', provider.explain(err, 'round_trip', config), err));
  } finally {
    probe.fill(0);
  }
  return { ok: checks.every((c) => c.ok), checks, pinned, description };
}

function failed(name: string, message: string, err: unknown): ValidationCheck {
  return { name, ok: false, message, errorClass: err instanceof ProviderError ? err.errorClass : 'ambiguous' };
}

function stateMessage(state: string): string {
  switch (state) {
    case 'disabled':
      return 'The key is disabled. Enable it in your key management service, then validate again.';
    case 'pending_deletion':
      return 'The key is pending deletion. Cancel the deletion, enable the key, then validate again.';
    case 'destroyed':
      return 'The key (or its primary version) is destroyed and can no longer be used. Choose another key.';
    default:
      return `The key is not usable (state: ${state}).`;
  }
}
