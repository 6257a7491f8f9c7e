import { createHash, createPrivateKey, generateKeyPairSync, hkdfSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  OPERATOR_TOKEN_MIN_LENGTH,
  parseOperatorTokens,
  plainOperatorToken,
  type OperatorTokenEntry,
} from './operator-tokens';
import { legacyTokenKeyId, parseTokenKeys, TOKEN_KEY_MIN_BYTES, type TokenKey } from './token-keys';

/**
 * Keyhold's typed configuration. Built once at boot from the environment (`loadConfig`) or from an object
 * (`buildConfig`, used by tests and benchmarks that start the app in-process). A bad value stops the process with
 * a message naming the variable. Secrets have no defaults, except in local mode where they are generated once and
 * kept in `.keyhold/` so a developer's restarts keep working tokens.
 */
export type Mode = 'local' | 'production' | 'test';

export interface KeyholdConfig {
  readonly mode: Mode;
  readonly host: string;
  readonly port: number;
  /**
   * The internal listener: the DEK API (`/internal/v1/...`), the service principals' token endpoint and `/metrics`,
   * never reachable through the public listener. Optional TLS; with a CA, mutual TLS (client certificates required).
   */
  readonly internal: {
    readonly host: string;
    readonly port: number;
    readonly tls: InternalTls | null;
  };
  readonly databaseUrl: string;
  readonly databasePoolSize: number;
  readonly redisUrl: string;
  /** Every Redis key, channel and BullMQ queue lives under this prefix (tests use unique ones). */
  readonly redisPrefix: string;
  /**
   * The platform operator's bearer tokens (they create tenants and read platform health; they never act inside a
   * tenant): named, optionally expiring, held as SHA-256 only. From KEYHOLD_OPERATOR_TOKENS and/or the single
   * plaintext KEYHOLD_OPERATOR_TOKEN (named `default`, never expiring).
   */
  readonly operatorTokens: readonly OperatorTokenEntry[];
  /** Access-token signing keys (HS256): the first signs, all verify. From KEYHOLD_TOKEN_KEYS or KEYHOLD_TOKEN_SECRET. */
  readonly tokenKeys: readonly TokenKey[];
  /** Local mode only: the generated operator token kept in `.keyhold/secrets.json`, so the developer can be shown it. */
  readonly localOperatorToken: string | null;
  readonly tokenTtlSeconds: number;
  readonly kekCache: {
    readonly ttlSeconds: number;
    readonly maxEntries: number;
    readonly pollIntervalMs: number;
    /** Byte bound of the plaintext DEKs cached under their KEKs (0 = none cached: every warm fetch unwraps). */
    readonly dekMaxBytes: number;
  };
  readonly kekRotation: {
    /** Soft threshold: a KEK that has done this many wraps is rotated (scheduled check, and at once by the DEK path). */
    readonly maxWraps: number;
    readonly maxAgeSeconds: number;
    readonly wrapReserveChunk: number;
    /** Hard cap: no KEK version ever does more wraps than this; new DEKs under it are refused (503 KEK_WRAP_LIMIT). */
    readonly wrapHardCap: number;
  };
  readonly probe: {
    readonly intervalSeconds: number;
    readonly confirmationWindowSeconds: number;
    readonly confirmations: number;
  };
  readonly rateLimit: { readonly tokenPerIpPerMinute: number; readonly tokenPerPrincipalPerMinute: number };
  readonly dek: {
    readonly batchMax: number;
    readonly wrappedCacheEntries: number;
    readonly stateCacheTtlMs: number;
    readonly retryAfterSeconds: number;
    /** Most DEKs one workspace may hold (destroyed segments free their slot). */
    readonly quotaPerWorkspace: number;
    /** DEK creations per service principal per minute, shared by every replica (fetching existing DEKs is free). */
    readonly createRatePerMinute: number;
  };
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Directory of the built console (served at / when it exists). */
  readonly consoleDir: string;
  readonly bodyLimitBytes: number;
  /**
   * Audit tamper evidence (docs/AUDIT.md). Both keys live outside Postgres: whoever can write the database but does
   * not hold them cannot re-seal a rewritten log. Every process that appends (API, worker) needs the same keys.
   */
  readonly audit: {
    /** HMAC-SHA256 key of the per-record MACs and the head MAC (base64, at least 32 bytes). */
    readonly hmacKey: string;
    /** Ed25519 private key of the signed checkpoints (PKCS#8, PEM or base64 DER). */
    readonly signingKey: string;
    /** Retired checkpoint public keys still published so old checkpoints keep verifying (PEM blocks). */
    readonly previousPublicKeys: string;
    /** A checkpoint is signed at least this often for every tenant whose log grew (at most 60 s). */
    readonly checkpointIntervalSeconds: number;
  };
  /**
   * Addresses (IPs or CIDRs) of the load balancers in front of the API. Only from these is X-Forwarded-For
   * believed when deciding a request's client address (rate limits); empty = none (the peer address is the client).
   */
  readonly trustedProxies: readonly string[];
  /** Where people reach the console; one-time links in emails point here. */
  readonly publicUrl: string;
  readonly credentials: { readonly invitationTtlSeconds: number; readonly passwordResetTtlSeconds: number };
  /** Production mail relay (JSON POST per message). Non-production modes use the dev mailbox instead. */
  readonly mailWebhookUrl: string | null;
  /**
   * Second factors of tenant admins. WebAuthn binds passkeys to `rpId` (a registrable domain, never an IP address)
   * and accepts assertions only from `origins` (each on `rpId` or a subdomain of it). `secretKey` encrypts TOTP
   * secrets at rest (derived from the token secret when not set, so rotating that secret then needs TOTP re-enrolment).
   */
  readonly mfa: {
    readonly rpId: string;
    readonly rpName: string;
    readonly origins: readonly string[];
    readonly secretKey: Buffer;
    /** Enrolling or removing a factor needs a session signed in at most this long ago. */
    readonly freshAuthSeconds: number;
    /** Lifetime of the challenge a password sign-in returns to a user with MFA. */
    readonly challengeTtlSeconds: number;
  };
  /** The raw environment handed to the provider bindings' own settings loaders (KEYHOLD_AWS_* etc.). */
  readonly providerEnv: Readonly<Record<string, string | undefined>>;
}

/** PEM text of the internal listener's certificate chain and key, and (mutual TLS) of the CA its clients' certificates must chain to. */
export interface InternalTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | null;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  mode: z.enum(['local', 'production', 'test']),
  host: z.string().min(1),
  port: int(0, 65535),
  internalHost: z.string().min(1),
  internalPort: int(0, 65535),
  internalTlsCert: z.string().optional(),
  internalTlsKey: z.string().optional(),
  internalTlsCa: z.string().optional(),
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
  databasePoolSize: int(1, 200),
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
  redisPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -'),
  operatorToken: z
    .string()
    .min(OPERATOR_TOKEN_MIN_LENGTH, `must be at least ${OPERATOR_TOKEN_MIN_LENGTH} characters`)
    .optional(),
  operatorTokens: z.string().optional(),
  tokenSecret: z.string().min(TOKEN_KEY_MIN_BYTES, `must be at least ${TOKEN_KEY_MIN_BYTES} characters`).optional(),
  tokenKeys: z.string().optional(),
  tokenTtlSeconds: int(5, 86400),
  kekCacheTtlSeconds: int(1, 86400),
  kekCacheMaxEntries: int(1, 10_000_000),
  kekCachePollIntervalMs: int(100, 600_000),
  dekCacheMaxBytes: int(0, 2 ** 36),
  kekMaxWraps: int(1, 2 ** 32),
  kekMaxAgeSeconds: int(60, 10 * 365 * 86400),
  kekWrapReserveChunk: int(1, 1_000_000),
  kekWrapHardCap: int(1, 2 ** 32),
  probeIntervalSeconds: int(1, 86400),
  probeConfirmationWindowSeconds: int(1, 7 * 86400),
  probeConfirmations: int(1, 100),
  tokenRatePerIpPerMinute: int(1, 1_000_000),
  tokenRatePerPrincipalPerMinute: int(1, 1_000_000),
  dekBatchMax: int(1, 10_000),
  dekWrappedCacheEntries: int(0, 10_000_000),
  dekStateCacheTtlMs: int(0, 60_000),
  dekQuotaPerWorkspace: int(1, 2 ** 40),
  dekCreateRatePerMinute: int(1, 100_000_000),
  retryAfterSeconds: int(1, 3600),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  consoleDir: z.string(),
  bodyLimitBytes: int(1024, 64 * 1024 * 1024),
  auditHmacKey: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length >= 32, 'must be base64 of at least 32 random bytes'),
  auditSigningKey: z.string().refine(isEd25519PrivateKey, 'must be an Ed25519 private key (PKCS#8, PEM or base64 DER)'),
  auditPreviousPublicKeys: z.string(),
  auditCheckpointIntervalSeconds: int(1, 60),
  trustedProxies: z
    .string()
    .regex(/^[0-9A-Fa-f.:/,\s]*$/, 'must be a comma-separated list of IP addresses or CIDR ranges'),
  publicUrl: z.string().regex(/^https?:\/\/[^\s]+[^/\s]$/, 'must be an http(s) URL without a trailing slash'),
  invitationTtlSeconds: int(300, 30 * 86400),
  passwordResetTtlSeconds: int(300, 7 * 86400),
  mailWebhookUrl: z
    .string()
    .regex(/^(https?:\/\/\S+)?$/, 'must be an http(s) URL')
    .optional(),
  webauthnRpId: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/,
      'must be a lower-case domain name (not an IP address)',
    )
    .optional(),
  webauthnRpName: z.string().min(1).max(64),
  webauthnOrigins: z.string().optional(),
  mfaSecretKey: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length >= 32, 'must be base64 of at least 32 random bytes')
    .optional(),
  mfaFreshAuthSeconds: int(30, 86400),
  mfaChallengeTtlSeconds: int(30, 900),
});

function isEd25519PrivateKey(v: string): boolean {
  try {
    return readSigningKey(v).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

/** The audit signing key from its configured text: PEM, or base64 of the PKCS#8 DER bytes. */
export function readSigningKey(v: string) {
  const t = v.trim();
  return t.startsWith('-----BEGIN')
    ? createPrivateKey(t)
    : createPrivateKey({ key: Buffer.from(t, 'base64'), format: 'der', type: 'pkcs8' });
}

export type KeyholdConfigInput = Partial<z.input<typeof schema>> & { providerEnv?: Record<string, string | undefined> };

/** Environment variable of each field (for error messages and `loadConfig`). */
const ENV_NAMES: Record<keyof z.input<typeof schema>, string> = {
  mode: 'KEYHOLD_MODE',
  host: 'HOST',
  port: 'PORT',
  internalHost: 'KEYHOLD_INTERNAL_HOST',
  internalPort: 'KEYHOLD_INTERNAL_PORT',
  internalTlsCert: 'KEYHOLD_INTERNAL_TLS_CERT',
  internalTlsKey: 'KEYHOLD_INTERNAL_TLS_KEY',
  internalTlsCa: 'KEYHOLD_INTERNAL_TLS_CA',
  databaseUrl: 'DATABASE_URL',
  databasePoolSize: 'KEYHOLD_DATABASE_POOL_SIZE',
  redisUrl: 'REDIS_URL',
  redisPrefix: 'KEYHOLD_REDIS_PREFIX',
  operatorToken: 'KEYHOLD_OPERATOR_TOKEN',
  operatorTokens: 'KEYHOLD_OPERATOR_TOKENS',
  tokenSecret: 'KEYHOLD_TOKEN_SECRET',
  tokenKeys: 'KEYHOLD_TOKEN_KEYS',
  tokenTtlSeconds: 'KEYHOLD_TOKEN_TTL_SECONDS',
  kekCacheTtlSeconds: 'KEYHOLD_KEK_CACHE_TTL_SECONDS',
  kekCacheMaxEntries: 'KEYHOLD_KEK_CACHE_MAX_ENTRIES',
  kekCachePollIntervalMs: 'KEYHOLD_KEK_CACHE_POLL_INTERVAL_MS',
  dekCacheMaxBytes: 'KEYHOLD_DEK_CACHE_MAX_BYTES',
  kekMaxWraps: 'KEYHOLD_KEK_MAX_WRAPS',
  kekMaxAgeSeconds: 'KEYHOLD_KEK_MAX_AGE_SECONDS',
  kekWrapReserveChunk: 'KEYHOLD_KEK_WRAP_RESERVE_CHUNK',
  kekWrapHardCap: 'KEYHOLD_KEK_WRAP_HARD_CAP',
  probeIntervalSeconds: 'KEYHOLD_PROBE_INTERVAL_SECONDS',
  probeConfirmationWindowSeconds: 'KEYHOLD_PROBE_CONFIRMATION_WINDOW_SECONDS',
  probeConfirmations: 'KEYHOLD_PROBE_CONFIRMATIONS',
  tokenRatePerIpPerMinute: 'KEYHOLD_TOKEN_RATE_PER_IP_PER_MINUTE',
  tokenRatePerPrincipalPerMinute: 'KEYHOLD_TOKEN_RATE_PER_PRINCIPAL_PER_MINUTE',
  dekBatchMax: 'KEYHOLD_DEK_BATCH_MAX',
  dekWrappedCacheEntries: 'KEYHOLD_DEK_WRAPPED_CACHE_ENTRIES',
  dekStateCacheTtlMs: 'KEYHOLD_DEK_STATE_CACHE_TTL_MS',
  dekQuotaPerWorkspace: 'KEYHOLD_DEK_QUOTA_PER_WORKSPACE',
  dekCreateRatePerMinute: 'KEYHOLD_DEK_CREATE_RATE_PER_MINUTE',
  retryAfterSeconds: 'KEYHOLD_RETRY_AFTER_SECONDS',
  logLevel: 'LOG_LEVEL',
  consoleDir: 'KEYHOLD_CONSOLE_DIR',
  bodyLimitBytes: 'KEYHOLD_BODY_LIMIT_BYTES',
  auditHmacKey: 'KEYHOLD_AUDIT_HMAC_KEY',
  auditSigningKey: 'KEYHOLD_AUDIT_SIGNING_KEY',
  auditPreviousPublicKeys: 'KEYHOLD_AUDIT_PREVIOUS_PUBLIC_KEYS',
  auditCheckpointIntervalSeconds: 'KEYHOLD_AUDIT_CHECKPOINT_INTERVAL_SECONDS',
  trustedProxies: 'KEYHOLD_TRUSTED_PROXIES',
  publicUrl: 'KEYHOLD_PUBLIC_URL',
  invitationTtlSeconds: 'KEYHOLD_INVITATION_TTL_SECONDS',
  passwordResetTtlSeconds: 'KEYHOLD_PASSWORD_RESET_TTL_SECONDS',
  mailWebhookUrl: 'KEYHOLD_MAIL_WEBHOOK_URL',
  webauthnRpId: 'KEYHOLD_WEBAUTHN_RP_ID',
  webauthnRpName: 'KEYHOLD_WEBAUTHN_RP_NAME',
  webauthnOrigins: 'KEYHOLD_WEBAUTHN_ORIGINS',
  mfaSecretKey: 'KEYHOLD_MFA_SECRET_KEY',
  mfaFreshAuthSeconds: 'KEYHOLD_MFA_FRESH_AUTH_SECONDS',
  mfaChallengeTtlSeconds: 'KEYHOLD_MFA_CHALLENGE_TTL_SECONDS',
};

const DEFAULTS: Partial<z.input<typeof schema>> = {
  mode: 'production',
  host: '127.0.0.1',
  port: 3000,
  internalHost: '127.0.0.1',
  internalPort: 3001,
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/keyhold',
  databasePoolSize: 10,
  redisUrl: 'redis://127.0.0.1:6379',
  redisPrefix: 'keyhold',
  tokenTtlSeconds: 900,
  kekCacheTtlSeconds: 300,
  kekCacheMaxEntries: 10_000,
  kekCachePollIntervalMs: 5_000,
  // ~200k DEKs at 320 bytes charged each (the wrapped-row cache's default size)
  dekCacheMaxBytes: 64 * 2 ** 20,
  // NIST SP 800-38D §8.3: at most 2^32 random-nonce GCM invocations per key; rotate far below it.
  kekMaxWraps: 2 ** 30,
  kekMaxAgeSeconds: 90 * 86400,
  kekWrapReserveChunk: 1_000,
  // Hard stop, half the NIST bound: reached only if rotations keep failing (e.g. a workspace in access_suspect).
  kekWrapHardCap: 2 ** 31,
  probeIntervalSeconds: 60,
  probeConfirmationWindowSeconds: 180,
  probeConfirmations: 3,
  tokenRatePerIpPerMinute: 600,
  tokenRatePerPrincipalPerMinute: 60,
  dekBatchMax: 1000,
  dekWrappedCacheEntries: 200_000,
  dekStateCacheTtlMs: 2_000,
  dekQuotaPerWorkspace: 10_000_000,
  dekCreateRatePerMinute: 60_000,
  retryAfterSeconds: 5,
  logLevel: 'info',
  consoleDir: 'apps/console/dist',
  bodyLimitBytes: 1024 * 1024,
  auditPreviousPublicKeys: '',
  auditCheckpointIntervalSeconds: 60,
  trustedProxies: '',
  publicUrl: 'http://127.0.0.1:3000',
  invitationTtlSeconds: 72 * 3600,
  passwordResetTtlSeconds: 3600,
  webauthnRpName: 'Keyhold',
  mfaFreshAuthSeconds: 300,
  mfaChallengeTtlSeconds: 300,
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Builds the configuration from an object (tests, benchmarks). Missing fields take the defaults. */
export function buildConfig(input: KeyholdConfigInput): KeyholdConfig {
  const { providerEnv, ...fields } = input;
  const merged: Record<string, unknown> = { ...DEFAULTS };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') merged[k] = v;
  if (merged.mode === 'local') Object.assign(merged, localSecrets(merged));
  // Test stacks share one database (and one checkpoint sweep over it): their audit keys derive from its URL
  // unless a test passes its own. Test mode only; never a way to run anything real.
  if (merged.mode === 'test')
    Object.assign(merged, {
      ...testAuditKeys(String(merged.databaseUrl)),
      ...definedOnly({ auditHmacKey: merged.auditHmacKey, auditSigningKey: merged.auditSigningKey }),
    });
  const parsed = schema.safeParse(merged);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => {
        const field = String(i.path[0]) as keyof typeof ENV_NAMES;
        const what = i.code === 'invalid_type' && i.received === 'undefined' ? 'is required' : i.message;
        return `${ENV_NAMES[field] ?? field} ${what}`;
      });
  // The secret sets are parsed here, from the raw values, so one error names every bad variable.
  const raw = (k: string) => (typeof merged[k] === 'string' ? merged[k] : undefined);
  const operatorToken = raw('operatorToken');
  const tokenKeys = secretSet(
    problems,
    { name: ENV_NAMES.tokenKeys, value: raw('tokenKeys'), parse: parseTokenKeys },
    { name: ENV_NAMES.tokenSecret, value: raw('tokenSecret'), parse: (v) => [{ kid: legacyTokenKeyId(v), secret: v }] },
  );
  const operatorTokens = [
    ...(raw('operatorTokens')
      ? secretSet(problems, {
          name: ENV_NAMES.operatorTokens,
          value: raw('operatorTokens'),
          parse: parseOperatorTokens,
        })
      : []),
    ...(operatorToken ? [plainOperatorToken(operatorToken)] : []),
  ];
  if (!raw('operatorTokens') && !operatorToken)
    problems.unshift(`${ENV_NAMES.operatorToken} (or ${ENV_NAMES.operatorTokens}) is required`);
  if (new Set(operatorTokens.map((t) => t.name)).size !== operatorTokens.length)
    problems.push(
      `${ENV_NAMES.operatorTokens} must not name a token "default" while ${ENV_NAMES.operatorToken} is set`,
    );
  // TOTP seeds must not hang on a key that rotates (the token signing key): production names its own MFA key.
  if (merged.mode === 'production' && !raw('mfaSecretKey'))
    problems.push(
      `${ENV_NAMES.mfaSecretKey} is required in production (it encrypts TOTP seeds; derive nothing from the token keys, which rotate)`,
    );
  if (!parsed.success || problems.length)
    throw new ConfigError(`invalid configuration: ${[...new Set(problems)].join('; ')}`);
  const c = parsed.data;
  const webauthn = webauthnSettings(c.publicUrl, c.webauthnRpId, c.webauthnOrigins);
  if (c.kekWrapHardCap < c.kekMaxWraps)
    throw new ConfigError(
      `invalid configuration: ${ENV_NAMES.kekWrapHardCap} must be at least ${ENV_NAMES.kekMaxWraps} (${c.kekMaxWraps})`,
    );
  if (c.port !== 0 && c.port === c.internalPort)
    throw new ConfigError(
      `invalid configuration: ${ENV_NAMES.internalPort} must differ from ${ENV_NAMES.port} (the internal API never shares the public listener)`,
    );
  const internalTls = readInternalTls(c);
  return Object.freeze({
    mode: c.mode,
    host: c.host,
    port: c.port,
    internal: Object.freeze({ host: c.internalHost, port: c.internalPort, tls: internalTls }),
    databaseUrl: c.databaseUrl,
    databasePoolSize: c.databasePoolSize,
    redisUrl: c.redisUrl,
    redisPrefix: c.redisPrefix,
    operatorTokens: Object.freeze(operatorTokens),
    tokenKeys: Object.freeze(tokenKeys),
    localOperatorToken: c.mode === 'local' ? (c.operatorToken ?? null) : null,
    tokenTtlSeconds: c.tokenTtlSeconds,
    kekCache: {
      ttlSeconds: c.kekCacheTtlSeconds,
      maxEntries: c.kekCacheMaxEntries,
      pollIntervalMs: c.kekCachePollIntervalMs,
      dekMaxBytes: c.dekCacheMaxBytes,
    },
    kekRotation: {
      maxWraps: c.kekMaxWraps,
      maxAgeSeconds: c.kekMaxAgeSeconds,
      wrapReserveChunk: c.kekWrapReserveChunk,
      wrapHardCap: c.kekWrapHardCap,
    },
    probe: {
      intervalSeconds: c.probeIntervalSeconds,
      confirmationWindowSeconds: c.probeConfirmationWindowSeconds,
      confirmations: c.probeConfirmations,
    },
    rateLimit: {
      tokenPerIpPerMinute: c.tokenRatePerIpPerMinute,
      tokenPerPrincipalPerMinute: c.tokenRatePerPrincipalPerMinute,
    },
    dek: {
      batchMax: c.dekBatchMax,
      wrappedCacheEntries: c.dekWrappedCacheEntries,
      stateCacheTtlMs: c.dekStateCacheTtlMs,
      retryAfterSeconds: c.retryAfterSeconds,
      quotaPerWorkspace: c.dekQuotaPerWorkspace,
      createRatePerMinute: c.dekCreateRatePerMinute,
    },
    logLevel: c.logLevel,
    consoleDir: c.consoleDir,
    bodyLimitBytes: c.bodyLimitBytes,
    audit: Object.freeze({
      hmacKey: c.auditHmacKey,
      signingKey: c.auditSigningKey,
      previousPublicKeys: c.auditPreviousPublicKeys,
      checkpointIntervalSeconds: c.auditCheckpointIntervalSeconds,
    }),
    trustedProxies: Object.freeze(
      c.trustedProxies
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ),
    publicUrl: c.publicUrl,
    credentials: { invitationTtlSeconds: c.invitationTtlSeconds, passwordResetTtlSeconds: c.passwordResetTtlSeconds },
    mailWebhookUrl: c.mailWebhookUrl || null,
    mfa: Object.freeze({
      ...webauthn,
      rpName: c.webauthnRpName,
      secretKey: c.mfaSecretKey
        ? Buffer.from(c.mfaSecretKey, 'base64')
        : Buffer.from(hkdfSync('sha256', tokenKeys[0].secret, 'keyhold', 'keyhold/mfa-secret-key', 32)),
      freshAuthSeconds: c.mfaFreshAuthSeconds,
      challengeTtlSeconds: c.mfaChallengeTtlSeconds,
    }),
    providerEnv: Object.freeze({ ...(providerEnv ?? {}) }),
  });
}

/**
 * A secret given either as a set or as one legacy value; the set wins when both are present, so a deployment moves to
 * the set form by adding it (the old variable may stay until the next cleanup). Problems are collected, not thrown, so
 * one error names every bad variable.
 */
function secretSet<T>(
  problems: string[],
  set: { name: string; value: string | undefined; parse: (v: string) => T[] },
  single?: { name: string; value: string | undefined; parse: (v: string) => T[] },
): T[] {
  const from = set.value ? set : single?.value ? single : null;
  if (!from) {
    problems.push(`${single ? `${single.name} (or ${set.name})` : set.name} is required`);
    return [];
  }
  try {
    return from.parse(from.value as string);
  } catch (err) {
    problems.push(`${from.name} ${(err as Error).message}`);
    return [];
  }
}

/**
 * The secret variables a child process (a worker started by a test, the hardening suite or the benchmark) needs to
 * load the same configuration: the token keys and the operator tokens, in their set forms (operator tokens as hashes).
 */
export function secretEnv(config: KeyholdConfig): Record<string, string> {
  return {
    KEYHOLD_TOKEN_KEYS: config.tokenKeys.map((k) => `${k.kid}=${k.secret}`).join(','),
    KEYHOLD_OPERATOR_TOKENS: config.operatorTokens
      .map((t) => `${t.name}=sha256:${t.sha256.toString('hex')}${t.expiresAt ? `@${t.expiresAt.toISOString()}` : ''}`)
      .join(','),
  };
}

/**
 * The WebAuthn relying party, checked at boot. Without settings: the public URL's host (or `localhost` when that
 * host is an IP address, which WebAuthn refuses as an RP ID) and the public URL as the one origin. Every origin
 * must be http(s) on the RP ID or a subdomain of it, and https unless it is localhost: a browser would refuse
 * anything else, so a typo fails here instead of at the first sign-in.
 */
function webauthnSettings(
  publicUrl: string,
  rpIdSetting: string | undefined,
  originsSetting: string | undefined,
): { rpId: string; origins: readonly string[] } {
  const pub = new URL(publicUrl);
  const isIp = (h: string) => /^[0-9.]+$/.test(h) || h.includes(':') || h.startsWith('[');
  const rpId = rpIdSetting ?? (isIp(pub.hostname) ? 'localhost' : pub.hostname.toLowerCase());
  const fallback = isIp(pub.hostname) ? `${pub.protocol}//localhost${pub.port ? `:${pub.port}` : ''}` : pub.origin;
  const origins = (originsSetting ?? fallback)
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (!origins.length)
    throw new ConfigError(`invalid configuration: ${ENV_NAMES.webauthnOrigins} must list at least one origin`);
  for (const o of origins) {
    let u: URL;
    try {
      u = new URL(o);
    } catch {
      throw new ConfigError(`invalid configuration: ${ENV_NAMES.webauthnOrigins} has an entry that is not a URL: ${o}`);
    }
    const host = u.hostname.toLowerCase();
    if (u.origin !== o.replace(/\/$/, ''))
      throw new ConfigError(
        `invalid configuration: ${ENV_NAMES.webauthnOrigins} entries must be bare origins (scheme://host[:port]): ${o}`,
      );
    if (host !== rpId && !host.endsWith(`.${rpId}`))
      throw new ConfigError(
        `invalid configuration: ${ENV_NAMES.webauthnOrigins} entry ${o} is not on ${ENV_NAMES.webauthnRpId} ${rpId} or a subdomain of it`,
      );
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && (host === 'localhost' || host.endsWith('.localhost'))))
      throw new ConfigError(
        `invalid configuration: ${ENV_NAMES.webauthnOrigins} entry ${o} must use https (http only for localhost)`,
      );
  }
  return { rpId, origins: Object.freeze(origins.map((o) => new URL(o).origin)) };
}

/**
 * The internal listener's TLS material: each of KEYHOLD_INTERNAL_TLS_CERT / _KEY / _CA is PEM text or the path of a
 * PEM file (read once, here, so a wrong path stops the boot rather than the first connection). Certificate and key
 * come together; a CA without them is refused (client certificates cannot be asked for over plain HTTP). The pair
 * is checked to match, so a mismatched deployment fails at boot with the variable's name.
 */
function readInternalTls(c: {
  internalTlsCert?: string;
  internalTlsKey?: string;
  internalTlsCa?: string;
}): InternalTls | null {
  const { internalTlsCert: certIn, internalTlsKey: keyIn, internalTlsCa: caIn } = c;
  if (!certIn && !keyIn) {
    if (caIn)
      throw new ConfigError(
        `invalid configuration: ${ENV_NAMES.internalTlsCa} needs ${ENV_NAMES.internalTlsCert} and ${ENV_NAMES.internalTlsKey}`,
      );
    return null;
  }
  if (!certIn || !keyIn)
    throw new ConfigError(
      `invalid configuration: ${ENV_NAMES.internalTlsCert} and ${ENV_NAMES.internalTlsKey} must be set together`,
    );
  const cert = pemOrFile(certIn, 'internalTlsCert', 'CERTIFICATE');
  const key = pemOrFile(keyIn, 'internalTlsKey', 'PRIVATE KEY');
  const ca = caIn ? pemOrFile(caIn, 'internalTlsCa', 'CERTIFICATE') : null;
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('mismatch');
  } catch {
    throw new ConfigError(
      `invalid configuration: ${ENV_NAMES.internalTlsKey} is not the private key of ${ENV_NAMES.internalTlsCert}`,
    );
  }
  if (ca)
    try {
      new X509Certificate(ca);
    } catch {
      throw new ConfigError(`invalid configuration: ${ENV_NAMES.internalTlsCa} is not a PEM certificate`);
    }
  return Object.freeze({ cert, key, ca });
}

function pemOrFile(v: string, field: keyof typeof ENV_NAMES, label: string): string {
  let text = v.trim();
  if (!text.startsWith('-----BEGIN')) {
    try {
      text = readFileSync(text, 'utf8');
    } catch {
      throw new ConfigError(
        `invalid configuration: ${ENV_NAMES[field]} must be PEM text or the path of a readable PEM file`,
      );
    }
  }
  if (!text.includes(`-----BEGIN`) || !text.includes(label))
    throw new ConfigError(`invalid configuration: ${ENV_NAMES[field]} must contain a PEM ${label}`);
  return text;
}

/** Reads the configuration from environment variables (names in ENV_NAMES). */
export function loadConfig(env: Record<string, string | undefined> = process.env): KeyholdConfig {
  const input: Record<string, unknown> = {};
  for (const [field, name] of Object.entries(ENV_NAMES))
    if (env[name] !== undefined && env[name] !== '') input[field] = env[name];
  return buildConfig({ ...(input as KeyholdConfigInput), providerEnv: { ...env } });
}

/**
 * Local mode only: secrets the developer did not set are generated once (CSPRNG) and kept in
 * `.keyhold/secrets.json` (0600), so restarts keep working tokens. Never used in production mode.
 */
function localSecrets(merged: Record<string, unknown>): Record<string, string> {
  const names = ['operatorToken', 'tokenSecret', 'auditHmacKey', 'auditSigningKey'] as const;
  if (names.every((n) => merged[n])) return {};
  const dir = join(process.cwd(), '.keyhold');
  const file = join(dir, 'secrets.json');
  let saved: Partial<Record<(typeof names)[number], string>> = {};
  if (existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8')) as typeof saved;
  const fresh = (n: (typeof names)[number]): string => {
    if (n === 'operatorToken') return randomBytes(32).toString('base64url');
    if (n === 'tokenSecret') return randomBytes(48).toString('base64url');
    return generatedAuditKeys()[n];
  };
  const out = Object.fromEntries(
    names.map((n) => [n, (merged[n] as string | undefined) ?? saved[n] ?? fresh(n)]),
  ) as Record<(typeof names)[number], string>;
  if (names.some((n) => saved[n] !== out[n])) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(out), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return out;
}

/** Fresh audit keys (CSPRNG): an HMAC key and an Ed25519 signing key. */
function generatedAuditKeys(): { auditHmacKey: string; auditSigningKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return {
    auditHmacKey: randomBytes(32).toString('base64'),
    auditSigningKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function testAuditKeys(databaseUrl: string): { auditHmacKey: string; auditSigningKey: string } {
  const derive = (label: string) => createHash('sha256').update(`keyhold-test-audit-${label}\n${databaseUrl}`).digest();
  // PKCS#8 DER of an Ed25519 key = a fixed 16-byte prefix + the 32-byte seed (RFC 8410)
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), derive('signing')]);
  return { auditHmacKey: derive('hmac').toString('base64'), auditSigningKey: pkcs8.toString('base64') };
}

function definedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

export const CONFIG_ENV_NAMES = ENV_NAMES;
