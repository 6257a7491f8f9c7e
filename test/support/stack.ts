import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { buildConfig, KeyholdConfig, KeyholdConfigInput } from '../../libs/config/src';
import { createApiApp, ApiApp } from '../../apps/api/src/app';
import { AWS_CUSTOMER_ROOT_CREDENTIALS, AWS_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/aws';
import type { CallCounters } from '../../apps/kms-emulator/src/core/counters';
import type { FaultEngine } from '../../apps/kms-emulator/src/core/faults';
import { startAwsEmulator } from './aws-emulator';
import { AzureEmulator, AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { GCP_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/gcp';
import { TEST_DATABASE_URL } from './db';
import { onboardTenant } from '../../apps/api/src/dev/onboarding-client';

/**
 * The whole product in-process for tests, benchmarks and the hardening suite: the cloud emulators (all three
 * when they have landed, AWS alone otherwise), the API on an ephemeral port with a unique Redis prefix, against
 * the migrated test database. Logs are captured in memory so tests can prove nothing secret was written.
 */
export interface TestStack {
  api: ApiApp;
  /** The public listener (console, admin API). */
  url: string;
  /** The internal listener (DEK API, service tokens, /metrics). */
  internalUrl: string;
  config: KeyholdConfig;
  redisPrefix: string;
  operatorToken: string;
  emulators: { awsUrl: string; faults: FaultEngine; counters: CallCounters; clouds: Array<'aws' | 'azure' | 'gcp'>; adminUrl?: string; azureVaultUrl?: string };
  /** Everything the API logged so far (JSON lines). */
  logs(): string;
  /**
   * Both listeners, as the deployment splits them: paths under /internal/ and /metrics go to the internal listener
   * (where internal services and the metrics scraper reach them), everything else to the public one.
   */
  http: HttpClient;
  /** The public listener only (what the internet reaches). */
  publicHttp: HttpClient;
  /** The internal listener only. */
  internalHttp: HttpClient;
  aws: CustomerAws;
  close(): Promise<void>;
}

export interface StackOptions {
  config?: KeyholdConfigInput;
  providerEnv?: Record<string, string>;
}

export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const emu = await startClouds();
  const redisPrefix = `khtest-${randomBytes(6).toString('hex')}`;
  const operatorToken = randomBytes(32).toString('base64url');
  const d = AWS_EMULATOR_DEFAULTS;
  const providerEnv: Record<string, string> = {
    KEYHOLD_AWS_REGION: d.region,
    KEYHOLD_AWS_KMS_ENDPOINT: emu.awsUrl,
    KEYHOLD_AWS_STS_ENDPOINT: emu.awsUrl,
    KEYHOLD_AWS_ACCESS_KEY_ID: d.vendorAccessKeyId,
    KEYHOLD_AWS_SECRET_ACCESS_KEY: d.vendorSecretAccessKey,
    KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: `arn:aws:iam::${d.vendorAccountId}:user/${d.vendorUserName}`,
    // fast tests: no SDK retry backoff, short timeouts
    KEYHOLD_AWS_MAX_ATTEMPTS: '1',
    KEYHOLD_AWS_REQUEST_TIMEOUT_MS: '3000',
    ...emu.extraEnv,
    ...options.providerEnv,
  };
  const config = buildConfig({
    mode: 'test',
    port: 0,
    host: '127.0.0.1',
    internalPort: 0,
    internalHost: '127.0.0.1',
    databaseUrl: TEST_DATABASE_URL,
    databasePoolSize: 8,
    redisPrefix,
    operatorToken,
    tokenSecret: randomBytes(48).toString('base64url'),
    logLevel: 'info',
    consoleDir: '/nonexistent',
    ...options.config,
    providerEnv,
  });
  const captured: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      captured.push(String(chunk));
      cb();
    },
  });
  let api: ApiApp;
  try {
    api = await createApiApp(config, { logDestination: sink });
  } catch (err) {
    await emu.close();
    throw err;
  }
  const aws = new CustomerAws(emu.awsUrl);
  return {
    api,
    url: api.url,
    internalUrl: api.internalUrl,
    config,
    redisPrefix,
    operatorToken,
    emulators: { awsUrl: emu.awsUrl, faults: emu.faults, counters: emu.counters, clouds: emu.clouds, adminUrl: emu.adminUrl, azureVaultUrl: emu.azureVaultUrl },
    logs: () => captured.join(''),
    http: new HttpClient(api.url, api.internalUrl),
    publicHttp: new HttpClient(api.url),
    internalHttp: new HttpClient(api.internalUrl),
    aws,
    async close() {
      aws.close();
      await api.close();
      await emu.close();
    },
  };
}

interface Clouds {
  awsUrl: string;
  faults: FaultEngine;
  counters: CallCounters;
  clouds: Array<'aws' | 'azure' | 'gcp'>;
  extraEnv: Record<string, string>;
  adminUrl?: string;
  azureVaultUrl?: string;
  close(): Promise<void>;
}

/** All three clouds via the emulator host when they exist; otherwise the AWS emulator alone. */
async function startClouds(): Promise<Clouds> {
  try {
    const { startEmulators } = await import('../../apps/kms-emulator/src/emulator-host');
    const all = await startEmulators({ ports: { aws: 0, azure: 0, gcp: 0, admin: 0, gcpIam: 0 } });
    const azure = all.clouds.azure as AzureEmulator;
    const azureEnv: Record<string, string> = {
      KEYHOLD_MODE: 'test',
      KEYHOLD_AZURE_AUTHORITY_HOST: azure.authorityHost(),
      KEYHOLD_AZURE_CLIENT_ID: AZURE_EMULATOR_DEFAULTS.vendorClientId,
      KEYHOLD_AZURE_CLIENT_SECRET: AZURE_EMULATOR_DEFAULTS.vendorClientSecret,
      KEYHOLD_AZURE_EMULATOR_HOSTS: `${AZURE_EMULATOR_DEFAULTS.vaultHost}:${all.azure.port}=127.0.0.1`,
      KEYHOLD_AZURE_CA_PEM: all.tls.caPem,
      KEYHOLD_AZURE_MAX_RETRIES: '0',
      KEYHOLD_AZURE_REQUEST_TIMEOUT_MS: '3000',
    };
    const gcpEnv: Record<string, string> = {
      KEYHOLD_GCP_KMS_ENDPOINT: `${all.gcp.host}:${all.gcp.port}`,
      KEYHOLD_GCP_IAM_ENDPOINT: all.gcp.iamCredentials,
      KEYHOLD_GCP_CA_PEM: all.tls.caPem,
      KEYHOLD_GCP_VENDOR_TOKEN: GCP_EMULATOR_DEFAULTS.vendorToken,
      KEYHOLD_GCP_VENDOR_PROJECT: GCP_EMULATOR_DEFAULTS.vendorProject,
      KEYHOLD_GCP_MAX_RETRIES: '0',
      KEYHOLD_GCP_TIMEOUT_MS: '3000',
    };
    return { awsUrl: all.aws.url, faults: all.faults, counters: all.counters, clouds: ['aws', 'azure', 'gcp'], extraEnv: { ...azureEnv, ...gcpEnv }, adminUrl: all.admin.url, azureVaultUrl: azure.vaultUrl(), close: () => all.close() };
  } catch (err) {
    if (!/not built yet/.test(String((err as Error).message))) throw err;
  }
  const aws = await startAwsEmulator();
  return { awsUrl: aws.url, faults: aws.faults, counters: aws.counters, clouds: ['aws'], extraEnv: {}, close: () => aws.close() };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A tiny JSON client over fetch: every call returns status, headers and parsed body (never throws on 4xx/5xx). */
export class HttpClient {
  /** With `internalBaseUrl`, paths under /internal/ and /metrics go there (see TestStack.http). */
  constructor(
    readonly baseUrl: string,
    readonly internalBaseUrl?: string,
  ) {}

  /** The listener a path is served on. */
  urlOf(path: string): string {
    const internal = this.internalBaseUrl !== undefined && (path.startsWith('/internal/') || path === '/metrics' || path.startsWith('/metrics?'));
    return `${internal ? this.internalBaseUrl : this.baseUrl}${path}`;
  }

  async request<T = any>(method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(this.urlOf(path), { method, headers, body });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get<T = any>(path: string, token?: string) {
    return this.request<T>('GET', path, { token });
  }
  post<T = any>(path: string, body: unknown, token?: string) {
    return this.request<T>('POST', path, { token, body });
  }
  put<T = any>(path: string, body: unknown, token?: string) {
    return this.request<T>('PUT', path, { token, body });
  }
  delete<T = any>(path: string, token?: string) {
    return this.request<T>('DELETE', path, { token });
  }
}

/** The customer's side of AWS BYOK, done with the official SDK as the emulator's customer root. */
export class CustomerAws {
  readonly kms: KMSClient;
  readonly iam: IAMClient;
  readonly accountId = AWS_EMULATOR_DEFAULTS.customerAccountId;

  constructor(endpoint: string) {
    const common = () => ({ endpoint, region: AWS_EMULATOR_DEFAULTS.region, credentials: { ...AWS_CUSTOMER_ROOT_CREDENTIALS }, maxAttempts: 1 });
    this.kms = new KMSClient(common());
    this.iam = new IAMClient(common());
  }

  /** A role trusting the vendor principal, optionally only with an ExternalId. */
  async createRole(name: string, vendorPrincipalArn: string, externalId: string | null): Promise<string> {
    const trust = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: vendorPrincipalArn },
          Action: 'sts:AssumeRole',
          ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
        },
      ],
    };
    const out = await this.iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) }));
    return out.Role!.Arn!;
  }

  /** A key the role may use (key policy + identity policy), or of another usage. */
  async createKey(roleArn: string, roleName: string, opts: { usage?: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY'; grant?: boolean } = {}): Promise<string> {
    const actions = ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ListKeyRotations'];
    const statements: object[] = [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${this.accountId}:root` }, Action: 'kms:*', Resource: '*' }];
    if (opts.grant !== false) statements.push({ Sid: 'keyhold', Effect: 'Allow', Principal: { AWS: roleArn }, Action: actions, Resource: '*' });
    const sign = opts.usage === 'SIGN_VERIFY';
    const out = await this.kms.send(
      new CreateKeyCommand({
        KeyUsage: sign ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT',
        KeySpec: sign ? 'RSA_2048' : 'SYMMETRIC_DEFAULT',
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      }),
    );
    const arn = out.KeyMetadata!.Arn!;
    if (opts.grant !== false)
      await this.iam.send(
        new PutRolePolicyCommand({
          RoleName: roleName,
          PolicyName: `keyhold-${out.KeyMetadata!.KeyId}`,
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: arn }] }),
        }),
      );
    return arn;
  }

  close(): void {
    this.kms.destroy();
    this.iam.destroy();
  }
}

/**
 * Operator creates a tenant; its first key admin accepts the mailed invitation (read from the dev mailbox) and
 * signs in. Returns the tenant with the admin's token (the shared onboarding client, no second copy).
 */
export async function tenantWithAdmin(stack: TestStack, name = `t-${randomBytes(3).toString('hex')}`) {
  const a = await onboardTenant(stack.url, stack.operatorToken, { name, email: `${name.toLowerCase()}-${randomBytes(3).toString('hex')}@example.com` });
  return { tenant: a.tenant, token: a.token, email: a.email, password: a.password, invitation: a.invitation };
}

/**
 * A tenant with one AWS key configuration (the customer's key and role created through the SDK, exactly as the
 * wizard tells the customer), one workspace bound to it and a service principal scoped to that workspace, with
 * its access token. `principal(permissions)` mints another one; `dekPath(segment)` and `batchPath` are the
 * workspace's internal DEK routes. The one place tests build this (no per-file copies).
 */
export async function awsBoundWorkspace(stack: TestStack) {
  const t = await tenantWithAdmin(stack);
  const vendor = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  const roleName = `r-${randomBytes(4).toString('hex')}`;
  const roleArn = await stack.aws.createRole(roleName, vendor, t.tenant.aws.externalId);
  const keyArn = await stack.aws.createKey(roleArn, roleName);
  const base = `/v1/tenants/${t.tenant.id}`;
  const kc = await stack.http.post(`${base}/key-configurations`, { name: 'k', provider: 'aws', aws: { keyArn, roleArn } }, t.token);
  if (kc.body.status !== 'valid') throw new Error(`key configuration: ${kc.status} ${kc.text}`);
  const ws = await stack.http.post(`${base}/workspaces`, { name: 'w' }, t.token);
  const bound = await stack.http.put(`${base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: kc.body.id }, t.token);
  if (bound.status !== 200) throw new Error(`bind: ${bound.status} ${bound.text}`);
  const wsId = ws.body.id as string;
  const principal = async (permissions?: string[]) => {
    const sp = await stack.http.post(`${base}/service-principals`, { name: 's', workspaceIds: [wsId], ...(permissions ? { permissions } : {}) }, t.token);
    if (sp.status !== 201) throw new Error(`service principal: ${sp.status} ${sp.text}`);
    const tok = await stack.http.post('/v1/auth/token', { grant_type: 'client_credentials', client_id: sp.body.clientId, client_secret: sp.body.clientSecret });
    if (tok.status !== 200) throw new Error(`service token: ${tok.status} ${tok.text}`);
    return { id: sp.body.id as string, token: tok.body.access_token as string, permissions: sp.body.permissions as string[] };
  };
  const svc = (await principal()).token;
  return {
    ...t,
    base,
    keyArn,
    roleArn,
    kcId: kc.body.id as string,
    wsId,
    svc,
    principal,
    dekPath: (seg: string) => `/internal/v1/workspaces/${wsId}/segments/${encodeURIComponent(seg)}/dek`,
    batchPath: `/internal/v1/workspaces/${wsId}/deks:batchGet`,
  };
}

/** Deletes every Redis key under the stack's (unique) prefix: a test file leaves nothing behind in the shared Redis. */
export async function cleanRedisPrefix(stack: Pick<TestStack, 'config' | 'redisPrefix'>): Promise<void> {
  const redis = new Redis(stack.config.redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${stack.redisPrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
