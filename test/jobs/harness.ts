import { randomBytes, randomUUID } from 'node:crypto';
import { CreateKeyCommand, KMSClient, PutKeyPolicyCommand } from '@aws-sdk/client-kms';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import Redis from 'ioredis';
import type { DataSource } from 'typeorm';
import { AuditKeys, AuditLog } from '@app/audit';
import { buildConfig, KeyholdConfig, KeyholdConfigInput } from '@app/config';
import { unwrapDek } from '@app/crypto';
import { OperationDispatcher, OperationKind } from '@app/jobs';
import { KekCache } from '@app/kek-cache';
import {
  BindWorkspace,
  CreateServicePrincipal,
  CreateInvitation,
  CreateTenant,
  CreateWorkspace,
  DekService,
  KekResolver,
  KeysDeps,
  ProviderRegistry,
  RegisterKeyConfiguration,
  RequestOperation,
} from '@app/keys';
import { createDataSource, createRepositories, type Repositories } from '@app/persistence';

import { DevMailbox } from '@app/auth';
import { ProviderCallObserver } from '@app/provider-port';
import { keyPolicyStatementDocument } from '@app/provider-aws';
import { AwsEmulatorHarness, startAwsEmulator } from '../support/aws-emulator';
import { AzureEmulatorHarness, startAzureEmulator } from '../support/azure-emulator';
import { GcpEmulatorHarness, startGcpEmulator } from '../support/gcp-emulator';
import { GCP_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/gcp';
import { privateDatabase } from '../support/db';

/**
 * Everything a jobs integration test needs, real all the way down: the AWS emulator spoken to by the real SDK
 * (customer side: create keys, roles, policies; vendor side: Keyhold's provider binding), the migrated test
 * database, Redis under a unique prefix, and the control plane's own use cases to create tenants, key
 * configurations, bound workspaces, DEKs and operation requests exactly as the API does.
 */
export interface JobsHarness {
  aws: AwsEmulatorHarness;
  /** Present when the harness was started with `clouds: ['azure', ...]`. */
  azure?: AzureEmulatorHarness;
  /** Present when the harness was started with `clouds: ['gcp', ...]`. */
  gcp?: GcpEmulatorHarness;
  ds: DataSource;
  redis: Redis;
  config: KeyholdConfig;
  deps: KeysDeps;
  dispatcher: OperationDispatcher;
  kms: KMSClient;
  iam: IAMClient;
  /**
   * A bare tenant, created the only way there is: the operator's CreateTenant, which mails an invitation to the
   * first key admin (to this harness's dev mailbox). Jobs tests act through use cases, so nobody accepts it.
   */
  createTenant(label: string): Promise<{ id: string }>;
  /** A tenant with a bound AWS workspace. */
  awsTenant(opts?: { workspaces?: number; grant?: 'key-policy' | 'iam' }): Promise<AwsTenant>;
  /** A fresh DEK service (own, cold KEK cache): what an API replica would do; over another database's repositories if given. */
  dekService(repos?: Repositories): { service: DekService; cache: KekCache };
  fetchDeks(
    t: { tenantId: string; principalId: string },
    workspaceId: string,
    segments: string[],
    svc?: DekService,
  ): Promise<Map<string, string>>;
  request(tenantId: string, workspaceId: string, kind: OperationKind | string): Promise<string>;
  waitForOperation(
    tenantId: string,
    operationId: string,
    timeoutMs?: number,
    until?: (op: OperationView) => boolean,
  ): Promise<OperationView>;
  workspace(
    tenantId: string,
    workspaceId: string,
  ): Promise<{ keyState: string; degraded: boolean; currentKekVersion: number; keyConfigurationId: string }>;
  close(): Promise<void>;
}

export interface AwsTenant {
  tenantId: string;
  externalId: string;
  keyArn: string;
  roleArn: string;
  roleName: string;
  keyConfigurationId: string;
  workspaceIds: string[];
  /** A service principal scoped to the workspaces (the DEK API's caller). */
  principalId: string;
  /** Register (and validate) another AWS key of the same tenant. */
  addKey(): Promise<{ keyArn: string; keyConfigurationId: string }>;
}

export interface OperationView {
  id: string;
  kind: string;
  state: string;
  step: string | null;
  progressDone: number;
  progressTotal: number;
  error: string | null;
  params: Record<string, unknown>;
  attempts: number;
}

export function awsProviderEnv(aws: AwsEmulatorHarness): Record<string, string> {
  return {
    KEYHOLD_AWS_REGION: aws.region,
    KEYHOLD_AWS_KMS_ENDPOINT: aws.url,
    KEYHOLD_AWS_STS_ENDPOINT: aws.url,
    KEYHOLD_AWS_ACCESS_KEY_ID: aws.vendor.accessKeyId,
    KEYHOLD_AWS_SECRET_ACCESS_KEY: aws.vendor.secretAccessKey,
    KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN: aws.vendor.arn,
    KEYHOLD_AWS_MAX_ATTEMPTS: '1',
    KEYHOLD_AWS_REQUEST_TIMEOUT_MS: '1500',
  };
}

/** Keyhold's provider configuration for the GCP emulator (what the stack and the worker read from the environment). */
export function gcpProviderEnv(gcp: GcpEmulatorHarness): Record<string, string> {
  return {
    KEYHOLD_GCP_KMS_ENDPOINT: `${gcp.endpoints.kms.host}:${gcp.endpoints.kms.port}`,
    KEYHOLD_GCP_IAM_ENDPOINT: gcp.endpoints.iamCredentials,
    KEYHOLD_GCP_CA_PEM: gcp.caPem,
    KEYHOLD_GCP_VENDOR_TOKEN: GCP_EMULATOR_DEFAULTS.vendorToken,
    KEYHOLD_GCP_VENDOR_PROJECT: GCP_EMULATOR_DEFAULTS.vendorProject,
    KEYHOLD_GCP_MAX_RETRIES: '0',
    KEYHOLD_GCP_TIMEOUT_MS: '3000',
  };
}

export async function startJobsHarness(
  over: KeyholdConfigInput & { redisDb?: number; clouds?: Array<'azure' | 'gcp'> } = {},
): Promise<JobsHarness> {
  const aws = await startAwsEmulator();
  const azure = over.clouds?.includes('azure') ? await startAzureEmulator() : undefined;
  const gcp = over.clouds?.includes('gcp') ? await startGcpEmulator() : undefined;
  const db = await privateDatabase();
  const ds = createDataSource(db.url, { poolSize: 6, applicationName: 'keyhold-jobs-test' });
  await ds.initialize();
  const { redisDb, clouds: _clouds, ...configOver } = over;
  const redisUrl = `redis://127.0.0.1:6379/${redisDb ?? 0}`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const config = buildConfig({
    mode: 'test',
    databaseUrl: db.url,
    redisUrl,
    redisPrefix: `kh-jobs-${randomBytes(4).toString('hex')}`,
    operatorToken: randomBytes(32).toString('base64url'),
    tokenSecret: randomBytes(48).toString('base64url'),
    probeIntervalSeconds: 3600,
    probeConfirmationWindowSeconds: 2,
    probeConfirmations: 3,
    logLevel: 'silent',
    ...configOver,
    providerEnv: {
      ...awsProviderEnv(aws),
      ...(azure ? { KEYHOLD_MODE: 'test', ...azure.env() } : {}),
      ...(gcp ? gcpProviderEnv(gcp) : {}),
      ...(configOver.providerEnv ?? {}),
    },
  });
  const observer = new ProviderCallObserver();
  const registry = ProviderRegistry.fromEnv(config.providerEnv, observer);
  const dispatcher = new OperationDispatcher(redis, config.redisPrefix);
  const deps: KeysDeps = {
    repos: createRepositories(ds),
    registry,
    audit: new AuditLog(ds, new AuditKeys(config.audit)),
    dispatcher,
    kekInvalidator: { invalidateWorkspace: async () => undefined, shredWorkspace: async () => undefined },
  };
  const kms = aws.customerKms();
  const iam = aws.customerIam();
  let seq = 0;

  // What the tenant is shown: the trust policy for its ExternalId, the key policy statement for its role.
  const awsBinding = registry.binding('aws');
  const awsProvider = {
    trustPolicy: (externalId: string) => String(awsBinding.identity({ id: 'harness', externalId }).trustPolicy),
    keyPolicyStatement: (roleArn: string) => keyPolicyStatementDocument(roleArn),
  };
  const rootStatement = () => ({
    Sid: 'Root',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${aws.customerAccountId}:root` },
    Action: 'kms:*',
    Resource: '*',
  });

  const h: JobsHarness = {
    aws,
    azure,
    gcp,
    ds,
    redis,
    config,
    deps,
    dispatcher,
    kms,
    iam,
    async createTenant(label: string) {
      const invite = new CreateInvitation({
        ...deps,
        mail: new DevMailbox(),
        sessions: { revoked: async () => undefined },
        invitationTtlSeconds: 3600,
        passwordResetTtlSeconds: 3600,
        consoleUrl: 'http://127.0.0.1:3000',
        onBackgroundError: () => undefined,
      });
      return new CreateTenant(deps, invite).execute({
        actor: 'operator',
        input: {
          name: `${label}-${randomUUID().slice(0, 8)}`,
          admin: { email: `admin-${randomUUID()}@example.com` },
        },
      });
    },
    async awsTenant(opts = {}) {
      const n = ++seq;
      const tenant = await h.createTenant(`jobs-${n}`);
      const externalId = (await ds.query(`SELECT external_id FROM tenants WHERE id = $1`, [tenant.id]))[0]
        .external_id as string;
      const roleName = `keyhold-${tenant.id.slice(0, 8)}-${n}`;
      const role = await iam.send(
        new CreateRoleCommand({
          RoleName: roleName,
          Path: '/keyhold/',
          AssumeRolePolicyDocument: awsProvider.trustPolicy(externalId),
        }),
      );
      const roleArn = role.Role!.Arn!;
      const viaIam = opts.grant === 'iam';
      const addKey = async () => {
        const statements = viaIam
          ? [rootStatement()]
          : [rootStatement(), JSON.parse(awsProvider.keyPolicyStatement(roleArn))];
        const key = await kms.send(
          new CreateKeyCommand({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }),
        );
        const keyArn = key.KeyMetadata!.Arn!;
        if (viaIam) {
          // The customer grants through IAM instead: default key policy (root) + an inline policy on the role.
          await iam.send(
            new PutRolePolicyCommand({
              RoleName: roleName,
              PolicyName: `keyhold-kms-${keyArn.split('/').pop()}`,
              PolicyDocument: JSON.stringify({
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:ListKeyRotations'],
                    Resource: keyArn,
                  },
                ],
              }),
            }),
          );
        }
        const kc = await new RegisterKeyConfiguration(deps).execute({
          actor: 'admin:test',
          tenantId: tenant.id,
          input: {
            name: `aws-${randomUUID().slice(0, 8)}`,
            provider: 'aws',
            aws: { keyArn, roleArn },
          },
        });
        if (kc.status !== 'valid')
          throw new Error(`test key configuration did not validate: ${JSON.stringify(kc.validation)}`);
        return { keyArn, keyConfigurationId: kc.id };
      };
      const first = await addKey();
      const workspaceIds: string[] = [];
      for (let i = 0; i < (opts.workspaces ?? 1); i++) {
        const ws = await new CreateWorkspace(deps).execute({
          actor: 'admin:test',
          tenantId: tenant.id,
          input: { name: `ws-${i}` },
        });
        const bound = await new BindWorkspace(deps).execute({
          actor: 'admin:test',
          tenantId: tenant.id,
          workspaceId: ws.id,
          keyConfigurationId: first.keyConfigurationId,
        });
        if (bound.kind !== 'bound') throw new Error('expected a first binding');
        workspaceIds.push(ws.id);
      }
      const sp = await new CreateServicePrincipal(deps).execute({
        actor: 'admin:test',
        tenantId: tenant.id,
        input: {
          name: 'jobs-test',
          workspaceIds,
        },
      });
      return {
        tenantId: tenant.id,
        externalId,
        keyArn: first.keyArn,
        roleArn,
        roleName,
        keyConfigurationId: first.keyConfigurationId,
        workspaceIds,
        principalId: sp.id,
        addKey,
      };
    },
    dekService(repos = deps.repos) {
      const cache = new KekCache({ ttlMs: 60_000, maxEntries: 1000 });
      const resolver = new KekResolver(repos, registry, cache, { onRevocationSuspected: async () => undefined }, 1);
      const service = new DekService(repos, resolver, {
        stateCacheTtlMs: 0,
        wrappedCacheEntries: 0,
        wrapReserveChunk: 100,
        batchMax: 1000,
      });
      return { service, cache };
    },
    async fetchDeks(t, workspaceId, segments, svc) {
      const service = svc ?? h.dekService().service;
      const out = new Map<string, string>();
      for (let i = 0; i < segments.length; i += 1000) {
        const issued = await service.getDeks(
          { tid: t.tenantId, sub: t.principalId },
          workspaceId,
          segments.slice(i, i + 1000),
        );
        for (const d of issued) out.set(d.segmentId, d.dek);
      }
      return out;
    },
    async request(tenantId, workspaceId, kind) {
      const { operationId } = await new RequestOperation(deps).execute({
        actor: 'admin:test',
        tenantId,
        workspaceId,
        kind,
      });
      return operationId;
    },
    async waitForOperation(
      tenantId,
      operationId,
      timeoutMs = 20_000,
      until = (op) => op.state === 'succeeded' || op.state === 'failed',
    ) {
      const deadline = Date.now() + timeoutMs;
      let last: OperationView | undefined;
      while (Date.now() < deadline) {
        const rows = await ds.query(
          `SELECT id, kind, state, step, progress_done::float8 AS "progressDone", progress_total::float8 AS "progressTotal", error, params, attempts
           FROM operations WHERE tenant_id = $1 AND id = $2`,
          [tenantId, operationId],
        );
        last = rows[0] as OperationView | undefined;
        if (last && until(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `operation ${operationId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
      );
    },
    async workspace(tenantId, workspaceId) {
      const rows = await ds.query(
        `SELECT key_state AS "keyState", degraded, current_kek_version AS "currentKekVersion", key_configuration_id AS "keyConfigurationId"
         FROM workspaces WHERE tenant_id = $1 AND id = $2`,
        [tenantId, workspaceId],
      );
      return rows[0];
    },
    async close() {
      await dispatcher.close();
      await registry.close();
      // Remove this harness's queues, locks and buckets (its prefix is unique, nothing else lives under it).
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redisPrefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      await ds.destroy();
      await aws.close();
      await azure?.close();
      await gcp?.close();
      await db.drop();
    },
  };
  return h;
}

/** Re-grant helper: the key policy Keyhold shows, for putting access back after a revocation. */
export async function putKeyPolicy(h: JobsHarness, t: AwsTenant, keyArn: string, withKeyhold: boolean): Promise<void> {
  const statements: unknown[] = [
    {
      Sid: 'Root',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${h.aws.customerAccountId}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ];
  if (withKeyhold) statements.push(JSON.parse(keyPolicyStatementDocument(t.roleArn)));
  await h.kms.send(
    new PutKeyPolicyCommand({
      KeyId: keyArn,
      PolicyName: 'default',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
    }),
  );
}

export { unwrapDek };
