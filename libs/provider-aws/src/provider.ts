import { LRUCache } from 'lru-cache';
import { randomBytes } from 'node:crypto';
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  type KeyMetadata,
} from '@aws-sdk/client-kms';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import {
  AwsKeyConfig,
  CallScope,
  contextToMap,
  InvalidIdentifierError,
  KeyDescription,
  KeyProvider,
  KeyState,
  ProviderCallObserver,
  ProviderError,
  RewrapNotPermittedError,
  ValidationCheck,
  WrapContext,
  WrappedKek,
} from '@app/provider-port';
import { classifyAwsError } from './classify';
import { parseKmsArn } from './identifiers';
import {
  KEYHOLD_KMS_ACTIONS,
  keyPolicyStatementDocument,
  roleSessionName,
  sessionPolicy,
  trustPolicyDocument,
} from './policies';
import type { AwsProviderSettings } from './settings';

const MAX_CLIENTS = 256;
const SESSION_SECONDS = 3600;

interface Meta {
  operation: string;
  target: string;
  tenantId?: string;
  workspaceId?: string;
}

/**
 * The AWS binding of the provider port. Keyhold acts in the tenant's account only through the tenant's role,
 * assumed with the tenant's ExternalId and narrowed by a session policy to the one key. One KMS client per
 * (region, role, ExternalId, key, tenant) is kept in a bounded LRU; its credential provider is memoised by the
 * SDK (refreshed five minutes before expiry), so AssumeRole runs once per session, not per call.
 */
export class AwsKmsProvider implements KeyProvider<AwsKeyConfig> {
  readonly kind = 'aws' as const;
  /** Per role session; the least recently used client beyond MAX_CLIENTS is destroyed (its sockets closed). */
  private readonly clients = new LRUCache<string, KMSClient>({
    max: MAX_CLIENTS,
    dispose: (c, _k, reason) => reason === 'evict' && c.destroy(),
  });
  private vendorSts?: STSClient;

  constructor(
    private readonly settings: AwsProviderSettings,
    private readonly observer: ProviderCallObserver,
  ) {}

  // ------------------------------------------------------------------ port

  async describe(config: AwsKeyConfig, scope: CallScope): Promise<KeyDescription> {
    const client = this.client(config, scope.tenantId);
    const meta = { target: config.keyArn, tenantId: scope.tenantId, workspaceId: scope.workspaceId };
    const out = await this.call({ ...meta, operation: 'describe' }, () =>
      client.send(new DescribeKeyCommand({ KeyId: config.keyArn })),
    );
    const km: KeyMetadata | undefined = out.KeyMetadata;
    if (!km?.Arn)
      throw new ProviderError('ambiguous', 'aws', 'describe', 'EmptyResponse', 'AWS describe returned no key metadata');
    const symmetric =
      km.KeyUsage === 'ENCRYPT_DECRYPT' &&
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- AWS-compatible services may still send only the older field
      (km.KeySpec ?? km.CustomerMasterKeySpec) === 'SYMMETRIC_DEFAULT';
    // Same source as wrap()'s keyVersion (ListKeyRotations), so "is this KEK wrapped under the current
    // material?" compares like with like. DescribeKey's CurrentKeyMaterialId also names the original
    // material, which ListKeyRotations never lists: mixing the two would make every unrotated key look stale.
    const currentVersion = symmetric ? await this.latestKeyMaterial(client, km.Arn, { ...meta, target: km.Arn }) : null;
    return {
      keyId: km.Arn,
      state: keyState(km.KeyState),
      usage: km.KeyUsage ?? 'unknown',
      usageOk: symmetric,
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- (as above)
      spec: km.KeySpec ?? km.CustomerMasterKeySpec ?? 'unknown',
      currentVersion,
    };
  }

  async wrap(config: AwsKeyConfig, kek: Buffer, ctx: WrapContext): Promise<WrappedKek> {
    const client = this.client(config, ctx.tenantId);
    const meta = { target: config.keyArn, tenantId: ctx.tenantId, workspaceId: ctx.workspaceId };
    // Read the current key material before encrypting: if a rotation lands in between, the recorded version
    // is the older one, which at worst causes a redundant rewrap, never a skipped one.
    const version = await this.latestKeyMaterial(client, config.keyArn, meta);
    const out = await this.call({ ...meta, operation: 'wrap' }, () =>
      client.send(new EncryptCommand({ KeyId: config.keyArn, Plaintext: kek, EncryptionContext: contextToMap(ctx) })),
    );
    if (!out.CiphertextBlob)
      throw new ProviderError('ambiguous', 'aws', 'wrap', 'EmptyResponse', 'AWS wrap returned no ciphertext');
    return { ciphertext: Buffer.from(out.CiphertextBlob), keyVersion: version };
  }

  async unwrap(config: AwsKeyConfig, wrapped: WrappedKek, ctx: WrapContext): Promise<Buffer> {
    const client = this.client(config, ctx.tenantId);
    const out = await this.call(
      { operation: 'unwrap', target: config.keyArn, tenantId: ctx.tenantId, workspaceId: ctx.workspaceId },
      // KeyId is always passed: KMS then refuses a ciphertext produced under any other key (IncorrectKey).
      () =>
        client.send(
          new DecryptCommand({
            KeyId: config.keyArn,
            CiphertextBlob: wrapped.ciphertext,
            EncryptionContext: contextToMap(ctx),
          }),
        ),
    );
    if (!out.Plaintext)
      throw new ProviderError('ambiguous', 'aws', 'unwrap', 'EmptyResponse', 'AWS unwrap returned no plaintext');
    const plain = Buffer.alloc(out.Plaintext.length);
    plain.set(out.Plaintext);
    out.Plaintext.fill(0);
    return plain;
  }

  /**
   * ReEncrypt under the key's current material: one KMS call, the KEK never leaves KMS (unwrap + wrap is three:
   * Decrypt, ListKeyRotations, Encrypt). Source and destination are the pinned key and the same context, so KMS
   * refuses a ciphertext of any other key or context exactly as Decrypt does, with the same error classes.
   *
   * The recorded version is `opts.keyVersion`, which the caller read (describe → ListKeyRotations) before this
   * call: as in wrap(), a rotation landing in between records the older version, which at worst causes a redundant
   * rewrap later, never a skipped one. Without a hint the version is read here first, the same way.
   *
   * AccessDenied on ReEncrypt becomes RewrapNotPermittedError, never a revocation class: customers who onboarded
   * before Keyhold asked for kms:ReEncryptFrom/kms:ReEncryptTo grant only Encrypt/Decrypt. The caller falls back
   * to unwrap + wrap, whose Decrypt classifies a real revocation (AccessDenied there means access is gone).
   */
  async rewrap(
    config: AwsKeyConfig,
    wrapped: WrappedKek,
    ctx: WrapContext,
    opts: { keyVersion?: string | null } = {},
  ): Promise<WrappedKek> {
    const client = this.client(config, ctx.tenantId);
    const meta = { target: config.keyArn, tenantId: ctx.tenantId, workspaceId: ctx.workspaceId };
    const version =
      opts.keyVersion !== undefined ? opts.keyVersion : await this.latestKeyMaterial(client, config.keyArn, meta);
    const context = contextToMap(ctx);
    let out;
    try {
      out = await this.call({ ...meta, operation: 'rewrap' }, () =>
        client.send(
          new ReEncryptCommand({
            CiphertextBlob: wrapped.ciphertext,
            SourceKeyId: config.keyArn,
            SourceEncryptionContext: context,
            DestinationKeyId: config.keyArn,
            DestinationEncryptionContext: context,
          }),
        ),
      );
    } catch (err) {
      if (err instanceof ProviderError && err.errorClass === 'access_denied')
        throw new RewrapNotPermittedError('aws', err.providerCode);
      throw err;
    }
    if (!out.CiphertextBlob)
      throw new ProviderError('ambiguous', 'aws', 'rewrap', 'EmptyResponse', 'AWS rewrap returned no ciphertext');
    return { ciphertext: Buffer.from(out.CiphertextBlob), keyVersion: version };
  }

  /**
   * Proves the role (the confused-deputy guard): AssumeRole with the tenant's ExternalId must
   * succeed, and without it or with a wrong one must be refused. A role that trusts Keyhold without the
   * ExternalId condition could be used by any other Keyhold tenant who learns its ARN.
   */
  async extraChecks(config: AwsKeyConfig, scope: CallScope): Promise<ValidationCheck[]> {
    const checks: ValidationCheck[] = [];
    const attempt = (externalId: string | undefined, operation: string) =>
      this.call({ operation, target: config.roleArn, tenantId: scope.tenantId }, () =>
        this.sts().send(
          new AssumeRoleCommand({
            RoleArn: config.roleArn,
            RoleSessionName: roleSessionName(scope.tenantId),
            DurationSeconds: 900,
            // Probes get a session that can do nothing useful even if wrongly granted.
            Policy: sessionPolicy(this.sessionResource(config)),
            ...(externalId !== undefined ? { ExternalId: externalId } : {}),
          }),
        ),
      );

    try {
      await attempt(config.externalId, 'assume_role');
      checks.push({
        name: 'assume_role',
        ok: true,
        message: `Keyhold assumed ${config.roleArn} with this tenant's ExternalId.`,
      });
    } catch (err) {
      checks.push(failedCheck('assume_role', this.explain(err, 'assume_role', config), err));
      return checks;
    }

    for (const [name, externalId, label] of [
      ['external_id_required', undefined, 'without an ExternalId'],
      ['external_id_enforced', `keyhold-probe-${randomBytes(16).toString('hex')}`, 'with a wrong ExternalId'],
    ] as const) {
      try {
        await attempt(
          externalId,
          name === 'external_id_required' ? 'assume_role_without_external_id' : 'assume_role_wrong_external_id',
        );
        checks.push({
          name,
          ok: false,
          message:
            `The role ${config.roleArn} can be assumed by Keyhold ${label}, so another Keyhold customer who learns the role ARN could use your key. ` +
            `Add the condition "StringEquals": {"sts:ExternalId": "<the ExternalId shown for this configuration>"} to the trust policy statement that names ${this.settings.vendorPrincipalArn}, then validate again.`,
          errorClass: 'access_denied',
        });
      } catch (err) {
        const e = classifyAwsError(err, 'assume_role');
        if (e.errorClass === 'access_denied') {
          checks.push({ name, ok: true, message: `AWS refuses to let Keyhold assume the role ${label}.` });
        } else {
          checks.push({
            name,
            ok: false,
            message: `Keyhold could not verify that the role refuses AssumeRole ${label}: ${this.explain(e, name, config)}`,
            errorClass: e.errorClass,
          });
        }
      }
    }
    return checks;
  }

  /** Alias → key ARN: validation pins the key the alias points to now; repointing the alias later changes nothing. */
  pin(config: AwsKeyConfig, description: KeyDescription): AwsKeyConfig {
    if (description.keyId === config.keyArn) return config;
    const supplied = parseKmsArn(config.keyArn, this.settings.allowedPartitions);
    const resolved = parseKmsArn(description.keyId, this.settings.allowedPartitions);
    if (resolved.kind !== 'key' || resolved.region !== supplied.region || resolved.accountId !== supplied.accountId)
      throw new InvalidIdentifierError(
        'keyArn',
        'The alias resolved to a key in another account or region; refusing to pin it.',
      );
    return {
      ...config,
      keyArn: resolved.arn,
      aliasArn: config.aliasArn ?? (supplied.kind === 'alias' ? supplied.arn : undefined),
    };
  }

  /** The trust policy the tenant pastes into their role. */
  trustPolicy(externalId: string): string {
    return trustPolicyDocument(this.settings.vendorPrincipalArn, externalId);
  }

  /** The key policy statement the tenant adds to their key. */
  keyPolicyStatement(roleArn: string): string {
    return keyPolicyStatementDocument(roleArn);
  }

  /** Words an admin can act on, for a failed validation check. Never echoes SDK messages. */
  explain(err: unknown, check: string, config: AwsKeyConfig): string {
    const e = classifyAwsError(err, check);
    const key = config.keyArn;
    const role = config.roleArn;
    const vendor = this.settings.vendorPrincipalArn;
    const assume = e.operation.startsWith('assume_role');
    switch (e.errorClass) {
      case 'access_denied':
        return assume
          ? `Keyhold (${vendor}) is not allowed to assume the role ${role} with this tenant's ExternalId. Check that the role exists and that its trust policy is exactly the one shown (principal ${vendor}, condition sts:ExternalId), then validate again.`
          : `The role ${role} is not allowed to use the key ${key}. Add the key policy statement shown (${KEYHOLD_KMS_ACTIONS.join(', ')} for ${role}), or, if the key policy enables IAM policies, an IAM policy on the role granting those actions on the key.`;
      case 'key_not_found':
        return `The key ${key} was not found. Check the ARN (account, region, key id or alias) and that the key still exists.`;
      case 'key_disabled':
        return e.providerCode === 'KMSInvalidStateException'
          ? `The key ${key} has no key material: its imported key material was deleted or expired. Import the same key material again, then validate again.`
          : `The key ${key} is disabled. Enable it in AWS KMS, then validate again.`;
      case 'key_pending_deletion':
        return `The key ${key} is pending deletion. Cancel the deletion and enable the key in AWS KMS, then validate again.`;
      case 'invalid_key_usage':
        return `The key ${key} cannot encrypt: create a symmetric key (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT).`;
      case 'invalid_ciphertext':
        return `AWS KMS refused to decrypt Keyhold's test key under ${key} (${e.providerCode}). If the key is a multi-Region replica or was changed during validation, validate again.`;
      case 'throttled':
        return `AWS throttled Keyhold's request (${e.providerCode}); your account's KMS request quota is shared with your own workloads. Try again in a minute.`;
      case 'unavailable':
        return `AWS ${assume ? 'STS' : 'KMS'} could not be reached or did not answer in time (${e.providerCode}). This is usually temporary: try again.`;
      case 'credentials_expired':
        return `Keyhold's AWS session credentials expired before the call completed (${e.providerCode}). This is on Keyhold's side; try again.`;
      case 'auth_misconfigured':
        return `AWS refused Keyhold's own credentials (${e.providerCode}). This is a Keyhold configuration problem, not a problem with your key or role: contact support.`;
      default:
        return `AWS answered ${check} with an unexpected error (${e.providerCode}). Try again; if it persists, contact support.`;
    }
  }

  /** Releases every SDK client (sockets). */
  async close(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    this.vendorSts?.destroy();
    this.vendorSts = undefined;
  }

  // ------------------------------------------------------------------ internals

  /** Every SDK call goes through the observer, and every failure leaves here classified. */
  private async call<T>(meta: Meta, fn: () => Promise<T>): Promise<T> {
    return this.observer.measure({ provider: 'aws', ...meta }, async () => {
      try {
        return await fn();
      } catch (err) {
        throw classifyAwsError(err, meta.operation);
      }
    });
  }

  /** Current key material id from ListKeyRotations; null when never rotated or not readable. */
  private async latestKeyMaterial(
    client: KMSClient,
    keyArn: string,
    meta: Omit<Meta, 'operation'>,
  ): Promise<string | null> {
    try {
      let marker: string | undefined;
      let best: { id: string; at: number } | null = null;
      for (let page = 0; page < 20; page++) {
        const out = await this.call({ ...meta, operation: 'list_versions' }, () =>
          client.send(
            new ListKeyRotationsCommand({ KeyId: keyArn, Limit: 1000, ...(marker ? { Marker: marker } : {}) }),
          ),
        );
        for (const r of out.Rotations ?? []) {
          if (!r.KeyMaterialId) continue;
          // KMS marks the material in use as CURRENT; older responses lack the field, then the latest wins.
          if (r.KeyMaterialState === 'CURRENT') return r.KeyMaterialId;
          const at = r.RotationDate?.getTime() ?? 0;
          if (!best || at >= best.at) best = { id: r.KeyMaterialId, at };
        }
        if (!out.Truncated || !out.NextMarker) break;
        marker = out.NextMarker;
      }
      return best?.id ?? null;
    } catch (err) {
      // The version is informational; the wrap itself decides success. Revocation-class failures will show
      // on the Encrypt call that follows.
      if (err instanceof ProviderError) return null;
      throw err;
    }
  }

  private sessionResource(config: AwsKeyConfig): string {
    const parsed = parseKmsArn(config.keyArn, this.settings.allowedPartitions);
    return parsed.kind === 'key'
      ? parsed.arn
      : `arn:${parsed.partition}:kms:${parsed.region}:${parsed.accountId}:key/*`;
  }

  /**
   * Per-request deadline. In this SDK generation `requestTimeout` alone only logs a warning: without
   * `throwOnRequestTimeout` a hung KMS would hold the call forever. socketTimeout bounds inactivity too.
   */
  private httpOptions() {
    const ms = this.settings.requestTimeoutMs;
    return { requestTimeout: ms, throwOnRequestTimeout: true, socketTimeout: ms, connectionTimeout: ms };
  }

  private vendorCredentials(): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined {
    const c = this.settings.vendorCredentials;
    // A fresh object per client: the SDK annotates the credentials object it is handed.
    return c
      ? {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        }
      : undefined;
  }

  private stsConfig() {
    return {
      region: this.settings.region,
      ...(this.settings.stsEndpoint ? { endpoint: this.settings.stsEndpoint } : {}),
      maxAttempts: this.settings.maxAttempts,
      requestHandler: this.httpOptions(),
    };
  }

  private sts(): STSClient {
    if (!this.vendorSts) {
      const creds = this.vendorCredentials();
      this.vendorSts = new STSClient({ ...this.stsConfig(), ...(creds ? { credentials: creds } : {}) });
    }
    return this.vendorSts;
  }

  private client(config: AwsKeyConfig, tenantId: string): KMSClient {
    const parsed = parseKmsArn(config.keyArn, this.settings.allowedPartitions);
    const cacheKey = [parsed.region, config.roleArn, config.externalId, config.keyArn, tenantId].join('\u0000');
    const hit = this.clients.get(cacheKey);
    if (hit) return hit;
    const assumed = fromTemporaryCredentials({
      params: {
        RoleArn: config.roleArn,
        RoleSessionName: roleSessionName(tenantId),
        ExternalId: config.externalId,
        DurationSeconds: SESSION_SECONDS,
        Policy: sessionPolicy(this.sessionResource(config)),
      },
      // Both are required, or the provider falls back to the default chain / real STS (docs/EMULATORS.md).
      masterCredentials: this.vendorCredentials(),
      // STS in the key's own region (regional endpoints, as the SDK uses by default): a replica key in another
      // region gets its role session there, so one region's outage does not take the other's credentials with it.
      clientConfig: { ...this.stsConfig(), region: parsed.region },
    });
    // Measured here, where the SDK actually asks for fresh credentials (its memoisation sits in front).
    const credentials: typeof assumed = (props) =>
      this.call({ operation: 'assume_role', target: config.roleArn, tenantId }, () => assumed(props));
    const client = new KMSClient({
      region: parsed.region,
      ...(this.settings.kmsEndpoint ? { endpoint: this.settings.kmsEndpoint } : {}),
      credentials,
      maxAttempts: this.settings.maxAttempts,
      requestHandler: this.httpOptions(),
    });
    this.clients.set(cacheKey, client);
    return client;
  }
}

function keyState(s: string | undefined): KeyState {
  switch (s) {
    case 'Enabled':
      return 'enabled';
    case 'Disabled':
    // Imported key material deleted or expired: unusable until the customer re-imports it (see classify.ts).
    case 'PendingImport':
      return 'disabled';
    case 'PendingDeletion':
    case 'PendingReplicaDeletion':
      return 'pending_deletion';
    default:
      return 'unknown';
  }
}

function failedCheck(name: string, message: string, err: unknown): ValidationCheck {
  return { name, ok: false, message, errorClass: err instanceof ProviderError ? err.errorClass : 'ambiguous' };
}

export function createAwsProvider(settings: AwsProviderSettings, observer: ProviderCallObserver): AwsKmsProvider {
  return new AwsKmsProvider(settings, observer);
}
