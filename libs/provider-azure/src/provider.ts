import { LRUCache } from 'lru-cache';
import type { Agent } from 'node:https';
import type { TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import {
  AzureKeyConfig,
  CallScope,
  KeyDescription,
  KeyProvider,
  ProviderCallObserver,
  ProviderError,
  ValidationCheck,
  WrapContext,
  WrappedKek,
} from '@app/provider-port';
import { probeVaultChallenge } from './challenge';
import { classifyAzureError } from './classify';
import { open, seal } from './context-seal';
import { parseAzureKeyUrl, ParsedKeyUrl } from './key-url';
import { Ownership, OwnershipCache, ownershipOf, ownershipTagCommand, OWNERSHIP_TAG } from './ownership';
import type { AzureProviderSettings } from './settings';
import { agentPolicy, createAzureAgent } from './transport';

const ALG = 'RSA-OAEP-256' as const;
const MAX_CLIENTS = 512;

/**
 * Azure Key Vault binding: RSA-OAEP-256 wrapKey/unwrapKey through CryptographyClient, getKey through KeyClient, as
 * the vendor's multi-tenant app in the customer's Entra tenant (ClientSecretCredential). Challenge resource
 * verification stays on. Clients are built once per (key URL, tenant) and reused; credentials once per tenant.
 */
export class AzureKeyVaultProvider implements KeyProvider<AzureKeyConfig> {
  readonly kind = 'azure' as const;
  private readonly agent: Agent;
  private readonly credentials = new LRUCache<string, TokenCredential>({ max: MAX_CLIENTS });
  private readonly crypto = new LRUCache<string, CryptographyClient>({ max: MAX_CLIENTS });
  private readonly keyClients = new LRUCache<string, KeyClient>({ max: MAX_CLIENTS });
  private readonly owned: OwnershipCache;

  constructor(
    private readonly settings: AzureProviderSettings,
    private readonly observer: ProviderCallObserver,
  ) {
    this.agent = createAzureAgent(settings);
    this.owned = new OwnershipCache(settings.ownershipTtlMs ?? 60_000);
  }

  async describe(config: AzureKeyConfig, scope: CallScope): Promise<KeyDescription> {
    const url = this.parse(config);
    return this.call('describe', url.keyId, scope, async () => {
      const client = this.keyClient(url, config.tenantId);
      let key: Awaited<ReturnType<typeof client.getKey>>;
      try {
        key = await client.getKey(url.keyName, { abortSignal: this.deadline() });
      } catch (err) {
        // A soft-deleted key answers 404 like a purged one. If the vault still holds it as deleted (and lets Keyhold
        // see that), the key is revoked but its owner can recover it: `pending_deletion`, the same revocation class
        // as a key scheduled for deletion elsewhere. A purged key (or one Keyhold may not look up) stays 404.
        if (isNotFound(err) && (await this.softDeleted(client, url.keyName))) {
          return {
            keyId: url.keyId,
            state: 'pending_deletion',
            usage: 'unknown while the key is deleted',
            usageOk: false,
            spec: 'unknown',
            currentVersion: null,
          };
        }
        // Key Vault refuses a GET of a disabled key (403, inner KeyDisabled) rather than answering enabled: false.
        // That refusal is the answer "the key is disabled"; nothing else about it matters until it is enabled again.
        if (!isKeyDisabled(err)) throw err;
        return {
          keyId: url.keyId,
          state: 'disabled',
          usage: 'unknown while the key is disabled',
          usageOk: false,
          spec: 'unknown',
          currentVersion: null,
        };
      }
      this.requireOwnership(url, config, key.properties.tags, 'describe');
      const ops = key.keyOperations ?? [];
      const kty = key.keyType ?? 'unknown';
      const bits = key.key?.n ? key.key.n.length * 8 : 0;
      const usageOk = (kty === 'RSA' || kty === 'RSA-HSM') && ops.includes('wrapKey') && ops.includes('unwrapKey');
      return {
        keyId: url.keyId,
        state: key.properties.enabled === false ? 'disabled' : 'enabled',
        usage: ops.length ? ops.join(',') : 'none',
        usageOk,
        spec: `${kty} ${bits || '?'}`,
        currentVersion: key.properties.version ?? null,
      };
    });
  }

  /** Whether the vault holds the key as soft-deleted (any failure to tell says no: the 404 then stands). */
  private async softDeleted(client: KeyClient, name: string): Promise<boolean> {
    try {
      await client.getDeletedKey(name, { abortSignal: this.deadline() });
      return true;
    } catch {
      return false;
    }
  }

  async wrap(config: AzureKeyConfig, kek: Buffer, ctx: WrapContext): Promise<WrappedKek> {
    const url = this.parse(config);
    const payload = seal(kek, ctx);
    try {
      return await this.call('wrap', url.keyId, ctx, async () => {
        // Wrap under the key's *current* version, named explicitly: a versionless CryptographyClient keeps using
        // the version it first fetched, so a customer's rotation would otherwise go unnoticed. Wraps are rare
        // (bind, rewrap, rotation), so the extra GET is cheap.
        const current = await this.keyClient(url, config.tenantId).getKey(url.keyName, {
          abortSignal: this.deadline(),
        });
        this.requireOwnership(url, config, current.properties.tags, 'wrap');
        const target = current.properties.version ? `${url.keyId}/${current.properties.version}` : url.keyId;
        const r = await this.cryptoClient(target, config.tenantId).wrapKey(ALG, payload, {
          abortSignal: this.deadline(),
        });
        return { ciphertext: Buffer.from(r.result), keyVersion: versionOf(r.keyID) };
      });
    } finally {
      payload.fill(0);
    }
  }

  async unwrap(config: AzureKeyConfig, wrapped: WrappedKek, ctx: WrapContext): Promise<Buffer> {
    const url = this.parse(config);
    // Unwrap with the version that wrapped: RSA key versions are different key pairs.
    const target = wrapped.keyVersion ? `${url.keyId}/${wrapped.keyVersion}` : url.keyId;
    await this.ensureOwnership(url, config, ctx);
    return this.call('unwrap', url.keyId, ctx, async () => {
      const r = await this.cryptoClient(target, config.tenantId).unwrapKey(ALG, wrapped.ciphertext, {
        abortSignal: this.deadline(),
      });
      return open(Buffer.from(r.result), ctx);
    });
  }

  async extraChecks(config: AzureKeyConfig, scope: CallScope): Promise<ValidationCheck[]> {
    const url = this.parse(config);
    const checks = [await this.vaultTenantCheck(url, config, scope), await this.credentialsCheck(url, config, scope)];
    if (checks.every((c) => c.ok)) {
      const ownership = await this.ownershipCheck(url, config, scope);
      // A disabled key hides its tags (Key Vault answers 403 KeyDisabled): the key_state check reports that, and the
      // configuration is invalid either way; an ownership verdict cannot be read until the owner enables it.
      if (ownership.ok || ownership.errorClass !== 'key_disabled') checks.push(ownership);
    }
    return checks;
  }

  /** The key carries its owner's grant to this Keyhold tenant: the ownership tag with the tenant's ExternalId. */
  private async ownershipCheck(url: ParsedKeyUrl, config: AzureKeyConfig, scope: CallScope): Promise<ValidationCheck> {
    try {
      await this.readOwnership(url, config, scope);
      return {
        name: 'key_ownership',
        ok: true,
        message: `The key carries the tag ${OWNERSHIP_TAG} with your tenant's ExternalId: its owner gave it to this Keyhold tenant.`,
      };
    } catch (err) {
      return {
        name: 'key_ownership',
        ok: false,
        message: this.explain(err, 'key_ownership', config),
        errorClass: err instanceof ProviderError ? err.errorClass : 'ambiguous',
      };
    }
  }

  /** Reads the key's tags now (one getKey) and throws unless they prove ownership. */
  private async readOwnership(
    url: ParsedKeyUrl,
    config: AzureKeyConfig,
    scope: CallScope | WrapContext,
  ): Promise<void> {
    await this.call('ownership', url.keyId, scope, async () => {
      const key = await this.keyClient(url, config.tenantId).getKey(url.keyName, { abortSignal: this.deadline() });
      this.requireOwnership(url, config, key.properties.tags, 'ownership');
    });
  }

  /**
   * Before an unwrap: a recent positive check stands (short TTL); otherwise read the tags now. A read that fails
   * transiently fails the unwrap with that transient class, never as a revocation.
   */
  private async ensureOwnership(url: ParsedKeyUrl, config: AzureKeyConfig, ctx: WrapContext): Promise<void> {
    if (this.owned.fresh(this.ownershipKey(url, config))) return;
    await this.readOwnership(url, config, ctx);
  }

  /** Checks tags just read from the vault; remembers a success, forgets at once on a failure. */
  private requireOwnership(
    url: ParsedKeyUrl,
    config: AzureKeyConfig,
    tags: Record<string, string> | undefined,
    operation: string,
  ): void {
    const k = this.ownershipKey(url, config);
    const found: Ownership = ownershipOf(tags, config.externalId);
    if (found === 'proven') {
      this.owned.remember(k);
      return;
    }
    this.owned.forget(k);
    // Never echo the tag's value: it may be another Keyhold tenant's ExternalId.
    throw new ProviderError(
      'ownership_unproven',
      'azure',
      operation,
      found === 'missing' ? 'OwnershipTagMissing' : 'OwnershipTagMismatch',
      found === 'missing'
        ? `the key has no ${OWNERSHIP_TAG} tag`
        : `the key's ${OWNERSHIP_TAG} tag names another Keyhold tenant`,
    );
  }

  private ownershipKey(url: ParsedKeyUrl, config: AzureKeyConfig): string {
    return `${config.tenantId} ${url.keyId} ${config.externalId}`;
  }

  /** The vault's challenge names the Entra tenant that owns it; it must be the tenant the admin entered. */
  private async vaultTenantCheck(
    url: ParsedKeyUrl,
    config: AzureKeyConfig,
    scope: CallScope,
  ): Promise<ValidationCheck> {
    try {
      const challenge = await this.call('challenge', url.keyId, scope, () =>
        probeVaultChallenge(url.keyId, this.agent, this.settings.requestTimeoutMs),
      );
      if (!challenge.tenantId)
        return {
          name: 'vault_tenant',
          ok: false,
          errorClass: 'ambiguous',
          message:
            'The host did not answer like Azure Key Vault (no Entra sign-in challenge). Check the key identifier.',
        };
      if (challenge.tenantId !== config.tenantId.toLowerCase())
        return {
          name: 'vault_tenant',
          ok: false,
          errorClass: 'auth_misconfigured',
          message: `The vault belongs to Entra tenant ${challenge.tenantId}, not ${config.tenantId}. Enter the directory (tenant) id that owns the vault.`,
        };
      return { name: 'vault_tenant', ok: true, message: `The vault belongs to your Entra tenant ${config.tenantId}.` };
    } catch (err) {
      return {
        name: 'vault_tenant',
        ok: false,
        message: this.explain(err, 'vault_tenant', config),
        errorClass: err instanceof ProviderError ? err.errorClass : 'ambiguous',
      };
    }
  }

  /** Keyhold's app can sign in to the customer's tenant for the vault's audience. */
  private async credentialsCheck(
    url: ParsedKeyUrl,
    config: AzureKeyConfig,
    scope: CallScope,
  ): Promise<ValidationCheck> {
    const resource = url.emulator
      ? this.settings.emulatorResource
      : url.managedHsm
        ? 'https://managedhsm.azure.net'
        : 'https://vault.azure.net';
    try {
      await this.call('get_token', url.keyId, scope, async () => {
        try {
          const t = await this.credential(config.tenantId).getToken(`${resource}/.default`, {
            abortSignal: this.deadline(),
          });
          if (!t) throw new Error('no token');
        } catch (err) {
          throw classifyAzureError(err, 'get_token');
        }
      });
      return {
        name: 'credentials',
        ok: true,
        message: `Keyhold's application signed in to your Entra tenant ${config.tenantId}.`,
      };
    } catch (err) {
      return {
        name: 'credentials',
        ok: false,
        message: this.explain(err, 'credentials', config),
        errorClass: err instanceof ProviderError ? err.errorClass : 'ambiguous',
      };
    }
  }

  pin(config: AzureKeyConfig): AzureKeyConfig {
    return { ...config, keyId: this.parse(config).keyId };
  }

  /** The tag the key's owner sets so this Keyhold tenant, and no other, may use the key. */
  ownershipTagHint(config: AzureKeyConfig): string {
    const url = this.parse(config);
    return ownershipTagCommand(url.host.split('.')[0], url.keyName, config.externalId, url.managedHsm);
  }

  /** The exact grant a customer runs so Keyhold's app can use the key (Azure RBAC). */
  accessGrantHint(config: AzureKeyConfig): string {
    const url = this.parse(config);
    const vault = url.host.split('.')[0];
    return [
      `az ad sp create --id ${this.settings.vendorClientId}`,
      `az role assignment create --role "Key Vault Crypto Service Encryption User" --assignee ${this.settings.vendorClientId} --scope "$(az keyvault show --name ${vault} --query id -o tsv)/keys/${url.keyName}"`,
    ].join('\n');
  }

  explain(err: unknown, check: string, config: AzureKeyConfig): string {
    const e = err instanceof ProviderError ? err : classifyAzureError(err, check);
    const app = this.settings.vendorClientId;
    switch (e.errorClass) {
      case 'access_denied':
        return `Keyhold's application (${app}) is not allowed to use this key. Assign it the "Key Vault Crypto Service Encryption User" role on the key (or an access policy with get, wrapKey and unwrapKey).`;
      case 'key_disabled':
        return 'The key is disabled in your vault. Enable it (all versions Keyhold uses), then validate again.';
      case 'key_not_found':
        return 'The key was not found in the vault: it is deleted or the name/version is wrong. Restore it or register another key.';
      case 'invalid_key_usage':
        return "The key does not allow wrapKey and unwrapKey operations. Add them to the key's permitted operations or use an RSA key that allows them.";
      case 'invalid_ciphertext':
        return 'The vault could not unwrap a key Keyhold wrapped with this key: the key material changed or the context does not match.';
      case 'throttled':
        return 'Azure Key Vault throttled Keyhold. Nothing is wrong with the configuration; try again shortly.';
      case 'unavailable':
        return "Azure Key Vault could not be reached or did not answer in time. Try again; if it persists, check the vault's network settings.";
      case 'ownership_unproven':
        return (
          (e.providerCode === 'OwnershipTagMismatch'
            ? `The key's ${OWNERSHIP_TAG} tag names another Keyhold tenant, so this tenant may not use it. `
            : `The key has no ${OWNERSHIP_TAG} tag, so Keyhold cannot tell that its owner gave it to this tenant. `) +
          `If the key is yours to give to this Keyhold tenant, tag it with this tenant's ExternalId (${config.externalId}), then validate again:\n${this.ownershipTagHint(config)}`
        );
      case 'auth_misconfigured':
        return e.providerCode === 'ChallengeMismatch'
          ? `The vault belongs to another Entra tenant than ${config.tenantId}. Enter the directory (tenant) id that owns the vault.`
          : `Keyhold could not sign in to Entra tenant ${config.tenantId}. Check the tenant id; if it is right, contact Keyhold support (the vendor application's credentials were refused).`;
      case 'ambiguous':
        return e.providerCode === 'AADSTS700016'
          ? `Keyhold's application (${app}) has no service principal in your tenant ${config.tenantId}. Run: az ad sp create --id ${app}`
          : e.providerCode === 'ForbiddenByFirewall'
            ? "The vault's firewall refused Keyhold's connection. Allow trusted access for Keyhold, then validate again."
            : 'Azure Key Vault refused the request for a reason Keyhold could not classify. Check the vault and try again.';
      default:
        return `Azure Key Vault refused the request (${e.errorClass}).`;
    }
  }

  async close(): Promise<void> {
    this.crypto.clear();
    this.keyClients.clear();
    this.owned.clear();
    this.credentials.clear();
    this.agent.destroy();
  }

  private parse(config: AzureKeyConfig): ParsedKeyUrl {
    // Parsed again on every use: nothing reaches the network unless it passes the allow-list now.
    return parseAzureKeyUrl(config.keyId, this.settings);
  }

  private deadline(): AbortSignal {
    return AbortSignal.timeout(this.settings.requestTimeoutMs);
  }

  private clientOptions() {
    return {
      additionalPolicies: [{ policy: agentPolicy(this.agent), position: 'perCall' as const }],
      retryOptions: { maxRetries: this.settings.maxRetries, retryDelayInMs: 200, maxRetryDelayInMs: 2000 },
    };
  }

  private credential(tenantId: string): TokenCredential {
    let c = this.credentials.get(tenantId);
    if (!c) {
      const emulatorAuthority = !/^https:\/\/login\.(microsoftonline\.com|chinacloudapi\.cn|microsoftonline\.us)$/.test(
        this.settings.authorityHost,
      );
      c = new ClientSecretCredential(tenantId, this.settings.vendorClientId, this.settings.vendorClientSecret, {
        ...this.clientOptions(),
        authorityHost: this.settings.authorityHost,
        disableInstanceDiscovery: emulatorAuthority,
      });
      this.credentials.set(tenantId, c);
    }
    return c;
  }

  private cryptoClient(keyUrl: string, tenantId: string): CryptographyClient {
    const k = `${tenantId} ${keyUrl}`;
    let c = this.crypto.get(k);
    if (!c) {
      c = new CryptographyClient(remoteOnly(keyUrl), this.credential(tenantId), this.clientOptions());
      this.crypto.set(k, c);
    }
    return c;
  }

  private keyClient(url: ParsedKeyUrl, tenantId: string): KeyClient {
    const k = `${tenantId} ${url.vaultUrl}`;
    let c = this.keyClients.get(k);
    if (!c) {
      c = new KeyClient(url.vaultUrl, this.credential(tenantId), this.clientOptions());
      this.keyClients.set(k, c);
    }
    return c;
  }

  private async call<T>(
    operation: string,
    target: string,
    scope: CallScope | WrapContext,
    fn: () => Promise<T>,
  ): Promise<T> {
    return this.observer.measure(
      { provider: 'azure', operation, target, tenantId: scope.tenantId, workspaceId: scope.workspaceId },
      async () => {
        try {
          return await fn();
        } catch (err) {
          throw classifyAzureError(err, operation);
        }
      },
    );
  }
}

export function createAzureProvider(
  settings: AzureProviderSettings,
  observer: ProviderCallObserver,
): AzureKeyVaultProvider {
  return new AzureKeyVaultProvider(settings, observer);
}

/**
 * The key, named for a CryptographyClient that only ever asks the vault. Given a bare key URL the SDK first GETs the
 * key and then applies its own nbf/exp check to every operation, unwrapKey included — while Key Vault documents
 * unwrapKey as allowed outside nbf/exp — and it keeps that copy of the attributes for the client's lifetime. A key
 * given with its name and no key material or dates leaves every decision to the vault.
 */
function remoteOnly(keyUrl: string): KeyVaultKey {
  const u = new URL(keyUrl);
  const [, , name, version] = u.pathname.split('/');
  return { id: keyUrl, name, properties: { id: keyUrl, name, vaultUrl: u.origin, ...(version ? { version } : {}) } };
}

function isNotFound(err: unknown): boolean {
  const e = err as { statusCode?: unknown } | null;
  return e?.statusCode === 404;
}

function isKeyDisabled(err: unknown): boolean {
  const e = err as {
    statusCode?: unknown;
    details?: { error?: { innererror?: { code?: unknown }; innerError?: { code?: unknown } } };
  } | null;
  const inner = e?.details?.error?.innererror?.code ?? e?.details?.error?.innerError?.code;
  return e?.statusCode === 403 && inner === 'KeyDisabled';
}

function versionOf(kid: string | undefined): string | null {
  if (!kid) return null;
  const m = /\/keys\/[^/]+\/([0-9a-f]{32})$/i.exec(kid);
  return m ? m[1].toLowerCase() : null;
}

/** LRU on an insertion-ordered Map: a hit moves the entry to the young end, eviction takes the oldest. */
