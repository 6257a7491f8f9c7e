import { LRUCache } from 'lru-cache';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import type { Impersonated } from 'google-auth-library';
import type { CallOptions } from 'google-gax';
import {
  type CallScope,
  canonicalContext,
  type GcpKeyConfig,
  InvalidIdentifierError,
  type KeyDescription,
  type KeyProvider,
  type KeyState,
  type ProviderCallObserver,
  ProviderError,
  type ValidationCheck,
  type WrapContext,
  type WrappedKek,
} from '@app/provider-port';
import { accessToken, GcpIdentity } from './auth';
import { classifyGcpError, GRPC, IntegrityError } from './classify';
import { crc32c } from './crc32c';
import { parseGcpKeyName } from './parse';
import type { GcpProviderSettings } from './settings';

/** Tenant service accounts with a live client; the least recently used is closed beyond this. */
const MAX_CLIENTS = 256;
const RETRY_BASE_MS = 50;
const TRANSIENT_CODES = new Set<number>([GRPC.UNAVAILABLE, GRPC.DEADLINE_EXCEEDED]);

interface TenantClient {
  kms: KeyManagementServiceClient;
  identity: Impersonated;
}

/**
 * Cloud KMS binding: Encrypt/Decrypt over gRPC as the tenant's vendor service account (impersonated from
 * Keyhold's own identity), the wrap context bound as AAD, CRC32C checked both ways.
 */
export class GcpKmsProvider implements KeyProvider<GcpKeyConfig> {
  readonly kind = 'gcp' as const;
  private readonly identity: GcpIdentity;
  /** Per service account; the least recently used client beyond MAX_CLIENTS is closed. */
  private readonly clients = new LRUCache<string, Promise<TenantClient>>({
    max: MAX_CLIENTS,
    dispose: (p, _k, reason) => reason === 'evict' && void p.then((c) => c.kms.close()).catch(() => undefined),
  });

  constructor(
    private readonly settings: GcpProviderSettings,
    private readonly observer: ProviderCallObserver,
  ) {
    this.identity = new GcpIdentity(settings);
  }

  async describe(config: GcpKeyConfig, scope: CallScope): Promise<KeyDescription> {
    return this.observer.measure(
      {
        provider: 'gcp',
        operation: 'describe',
        target: config.keyName,
        tenantId: scope.tenantId,
        workspaceId: scope.workspaceId,
      },
      () =>
        this.call(config, 'describe', async (kms, opts) => {
          const [key] = await kms.getCryptoKey({ name: config.keyName }, opts);
          const purpose = String(key.purpose ?? 'CRYPTO_KEY_PURPOSE_UNSPECIFIED');
          const symmetric = purpose === 'ENCRYPT_DECRYPT';
          return {
            keyId: key.name ?? config.keyName,
            // Only symmetric keys have a primary version; other purposes exist but fail the usage check.
            state: symmetric ? versionState(key.primary?.state) : 'enabled',
            usage: purpose,
            usageOk: symmetric,
            spec: String(key.versionTemplate?.algorithm ?? key.primary?.algorithm ?? 'unknown'),
            currentVersion: key.primary?.name ?? null,
          };
        }),
    );
  }

  async wrap(config: GcpKeyConfig, kek: Buffer, ctx: WrapContext): Promise<WrappedKek> {
    return this.observer.measure(
      {
        provider: 'gcp',
        operation: 'wrap',
        target: config.keyName,
        tenantId: ctx.tenantId,
        workspaceId: ctx.workspaceId,
      },
      () =>
        this.call(config, 'wrap', async (kms, opts) => {
          const aad = canonicalContext(ctx);
          const [res] = await kms.encrypt(
            {
              name: config.keyName,
              plaintext: kek,
              additionalAuthenticatedData: aad,
              plaintextCrc32c: { value: crc32c(kek) },
              additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
            },
            opts,
          );
          // The service must confirm it saw our bytes intact, and we must receive its bytes intact.
          if (!res.verifiedPlaintextCrc32c || !res.verifiedAdditionalAuthenticatedDataCrc32c) {
            throw new IntegrityError('the key service did not verify the request checksums');
          }
          const ciphertext = Buffer.from(res.ciphertext as Uint8Array);
          if (Number(res.ciphertextCrc32c?.value) !== crc32c(ciphertext))
            throw new IntegrityError('ciphertext checksum mismatch');
          const version = res.name ?? '';
          if (!version.startsWith(`${config.keyName}/cryptoKeyVersions/`)) {
            throw new ProviderError(
              'ambiguous',
              'gcp',
              'wrap',
              'UNEXPECTED_VERSION',
              'GCP wrap answered for a different key.',
            );
          }
          return { ciphertext, keyVersion: version };
        }),
    );
  }

  async unwrap(config: GcpKeyConfig, wrapped: WrappedKek, ctx: WrapContext): Promise<Buffer> {
    return this.observer.measure(
      {
        provider: 'gcp',
        operation: 'unwrap',
        target: config.keyName,
        tenantId: ctx.tenantId,
        workspaceId: ctx.workspaceId,
      },
      () =>
        this.call(config, 'unwrap', async (kms, opts) => {
          const aad = canonicalContext(ctx);
          const [res] = await kms.decrypt(
            {
              name: config.keyName,
              ciphertext: wrapped.ciphertext,
              additionalAuthenticatedData: aad,
              ciphertextCrc32c: { value: crc32c(wrapped.ciphertext) },
              additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
            },
            opts,
          );
          const raw = res.plaintext as Uint8Array;
          const plaintext = Buffer.from(raw);
          if (raw instanceof Uint8Array) raw.fill(0);
          if (Number(res.plaintextCrc32c?.value) !== crc32c(plaintext)) {
            plaintext.fill(0);
            throw new IntegrityError('plaintext checksum mismatch');
          }
          return plaintext;
        }),
    );
  }

  /** Keyhold can obtain a token for the tenant's service account (its own side of the setup). */
  async extraChecks(config: GcpKeyConfig, scope: CallScope): Promise<ValidationCheck[]> {
    try {
      await this.observer.measure(
        {
          provider: 'gcp',
          operation: 'get_token',
          target: config.serviceAccount,
          tenantId: scope.tenantId,
          workspaceId: scope.workspaceId,
        },
        async () => {
          try {
            const client = await this.client(config.serviceAccount);
            await accessToken(client.identity, this.settings.requestTimeoutMs);
          } catch (err) {
            throw classifyGcpError(err, 'get_token');
          }
        },
      );
      return [
        {
          name: 'impersonation',
          ok: true,
          message: `Keyhold can act as its service account ${config.serviceAccount} for your organisation.`,
        },
      ];
    } catch (err) {
      const e = classifyGcpError(err, 'get_token');
      return [
        {
          name: 'impersonation',
          ok: false,
          message: this.explain(e, 'impersonation', config),
          errorClass: e.errorClass,
        },
      ];
    }
  }

  /**
   * GCP has no aliases: the CryptoKey name is already canonical. A describe answer for another name means the
   * service and Keyhold disagree on which key this is: refuse to pin rather than guess.
   */
  pin(config: GcpKeyConfig, description: KeyDescription): GcpKeyConfig {
    if (description.keyId === config.keyName) return config;
    throw new InvalidIdentifierError(
      'gcp.keyName',
      'Cloud KMS described a different key than the one configured; refusing to pin it.',
    );
  }

  /**
   * The commands the customer runs to let the tenant's service account use the key, one per line: Encrypter/
   * Decrypter for wrap/unwrap, and Viewer because validation and health checks read the key's primary version
   * state (cloudkms.cryptoKeys.get), which Encrypter/Decrypter does not grant.
   */
  iamBindingHint(config: GcpKeyConfig): string {
    const k = parseGcpKeyName(config.keyName);
    const base =
      `gcloud kms keys add-iam-policy-binding ${k.cryptoKey} --keyring ${k.keyRing} --location ${k.location} --project ${k.project} ` +
      `--member serviceAccount:${config.serviceAccount}`;
    return `${base} --role roles/cloudkms.cryptoKeyEncrypterDecrypter\n${base} --role roles/cloudkms.viewer`;
  }

  /** Words an admin can act on for a failed check. Never echoes SDK messages. */
  explain(err: unknown, check: string, config: GcpKeyConfig): string {
    const e = classifyGcpError(err, check);
    const key = config.keyName;
    const sa = config.serviceAccount;
    switch (e.errorClass) {
      case 'access_denied':
        return `The service account ${sa} is not allowed to use ${key}. Grant it the Cloud KMS CryptoKey Encrypter/Decrypter and Viewer roles:\n${this.iamBindingHint(config)}`;
      case 'key_not_found':
        return `The key ${key} was not found. Check the project, location, key ring and key name.`;
      case 'key_disabled':
        return `The primary version of ${key} is disabled. Enable it, or make an enabled version primary, then validate again.`;
      case 'key_pending_deletion':
        return `The primary version of ${key} is scheduled for destruction. Restore it, enable it, then validate again.`;
      case 'key_destroyed':
        return `The key version of ${key} Keyhold needs is destroyed; its material cannot be recovered. Data wrapped under it is lost.`;
      case 'invalid_key_usage':
        return `The key ${key} cannot be used for symmetric encryption. Create a key with purpose ENCRYPT_DECRYPT.`;
      case 'invalid_ciphertext':
        return `Cloud KMS refused to unwrap with ${key}: the wrapped key or its bound context does not match this key.`;
      case 'throttled':
        return `Cloud KMS is throttling requests for ${key}. Try again in a minute; if it persists, raise the Cloud KMS request quota of your project.`;
      case 'unavailable':
        return `Cloud KMS could not be reached in time for ${key}. This is usually temporary: try again shortly.`;
      case 'auth_misconfigured':
        return `Keyhold could not act as its service account ${sa}. This is a problem on Keyhold's side, not with your key: contact Keyhold support.`;
      case 'credentials_expired':
        return `Keyhold's credentials for ${sa} expired during the check. Try again; if it persists, contact Keyhold support.`;
      default:
        return `Cloud KMS gave an unexpected answer for ${key} (${e.providerCode}). Try again; if it persists, contact Keyhold support.`;
    }
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(all.map((p) => p.then((c) => c.kms.close()).catch(() => undefined)));
    this.identity.close();
  }

  // ---- internals ----

  /** Runs one SDK call with a bounded budget: at most maxRetries retries of transient codes, within requestTimeoutMs. */
  private async call<T>(
    config: GcpKeyConfig,
    operation: string,
    fn: (kms: KeyManagementServiceClient, opts: CallOptions) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + this.settings.requestTimeoutMs;
    let attempt = 0;
    for (;;) {
      try {
        const client = await this.client(config.serviceAccount);
        // The token is fetched before the RPC so an impersonation failure is classified as such, not as INTERNAL.
        await accessToken(client.identity, deadline - Date.now());
        const remaining = Math.max(1, deadline - Date.now());
        return await fn(client.kms, { timeout: remaining, retry: noRetry(remaining) });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const transient = typeof code === 'number' && TRANSIENT_CODES.has(code);
        const wait = RETRY_BASE_MS * 2 ** attempt;
        if (transient && attempt < this.settings.maxRetries && Date.now() + wait < deadline) {
          attempt++;
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        throw classifyGcpError(err, operation);
      }
    }
  }

  private client(serviceAccount: string): Promise<TenantClient> {
    const hit = this.clients.get(serviceAccount);
    if (hit) return hit;
    const created = this.createClient(serviceAccount);
    created.catch(() => this.clients.peek(serviceAccount) === created && this.clients.delete(serviceAccount));
    this.clients.set(serviceAccount, created);
    return created;
  }

  private async createClient(serviceAccount: string): Promise<TenantClient> {
    const identity = await this.identity.impersonate(serviceAccount);
    const ssl = this.settings.tlsCaPem
      ? grpc.credentials.createSsl(Buffer.from(this.settings.tlsCaPem))
      : grpc.credentials.createSsl();
    // grpc-js reads headers as a plain object; google-auth-library 10 returns a Headers instance: adapt it.
    const callCreds = grpc.credentials.createFromGoogleCredential({
      getRequestHeaders: async (url?: string) => Object.fromEntries((await identity.getRequestHeaders(url)).entries()),
    });
    const kms = new KeyManagementServiceClient({
      apiEndpoint: this.settings.kmsEndpoint?.host,
      port: this.settings.kmsEndpoint?.port,
      sslCreds: grpc.credentials.combineChannelCredentials(ssl, callCreds),
      authClient: identity,
      fallback: false,
    });
    return { kms, identity };
  }
}

export function createGcpProvider(settings: GcpProviderSettings, observer: ProviderCallObserver): GcpKmsProvider {
  return new GcpKmsProvider(settings, observer);
}

/** gax per-call retry settings that disable its own retries (this binding retries, bounded by maxRetries). */
function noRetry(timeoutMs: number): CallOptions['retry'] {
  return {
    retryCodes: [] as number[],
    backoffSettings: {
      initialRetryDelayMillis: 10,
      retryDelayMultiplier: 1,
      maxRetryDelayMillis: 10,
      initialRpcTimeoutMillis: timeoutMs,
      rpcTimeoutMultiplier: 1,
      maxRpcTimeoutMillis: timeoutMs,
      totalTimeoutMillis: timeoutMs,
    },
  };
}

function versionState(state: unknown): KeyState {
  switch (state) {
    case 'ENABLED':
      return 'enabled';
    case 'DISABLED':
      return 'disabled';
    case 'DESTROY_SCHEDULED':
      return 'pending_deletion';
    case 'DESTROYED':
      return 'destroyed';
    default:
      return 'unknown';
  }
}
