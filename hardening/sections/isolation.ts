import { wellFormedBody } from '../lib/bodies';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import { OWNERSHIP_TAG } from '@app/provider-azure';
import { AzureEmulator, AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { azureCustomerKeys } from '../lib/azure-customer';
import { HttpResult } from '../../stack';
import type { KeyMaterialLedger } from '../lib/key-material';
import { Endpoint, endpointsOf, fillPath, paramKind } from '../lib/openapi';
import type { HardeningStack } from '../lib/stack';
import { secretsOf, SeededTenant } from '../lib/world';

/**
 * Tenant isolation matrix: every endpoint of the served OpenAPI document × every principal (each tenant's key
 * admin, auditor and service principal; no token; a garbage token; the operator token) × every target (own ids,
 * the other tenant's ids, own tenant with the other tenant's child ids, own workspace outside the service
 * principal's scope) → the expected 401/403/404, and no answer may contain the other tenant's names or ids that
 * the request did not itself carry. Own-tenant reads with an allowed role run as positive controls (a matrix in
 * which everything is denied would prove nothing). Cross-tenant references inside bodies (bind to the other
 * tenant's key configuration, scope a service principal to its workspace, register its role and key: the
 * confused deputy) are part of the matrix too. On Azure, where one vendor application serves every tenant, the
 * confused deputy is a key its owner granted and tagged for one tenant, registered (and bound) by the other.
 */
export interface IsolationResult {
  endpoints: number;
  principals: number;
  cases: number;
  failures: number;
  positiveControls: number;
  positiveControlFailures: number;
  leaks: number;
  confusedDeputyCases: number;
  confusedDeputySucceeded: number;
  /** Azure: registrations or bindings of a key tagged for the other tenant that were tried / accepted (null: Azure not configured). */
  azureConfusedDeputyCases: number;
  azureConfusedDeputyAccepted: number | null;
  /** GCP: registrations or bindings of a key granted to the other tenant's service account, tried / accepted (null: GCP not configured). */
  gcpConfusedDeputyCases: number;
  gcpConfusedDeputyAccepted: number | null;
  details: string[];
}

type PrincipalName = 'keyAdmin' | 'auditor' | 'service' | 'anonymous' | 'garbage' | 'operator';

interface Principal {
  label: string;
  kind: PrincipalName;
  /** Tenant the principal belongs to (anonymous/garbage/operator: none → targets are tenant A's). */
  home: SeededTenant | null;
  token?: string;
}

type Target = 'own' | 'foreign' | 'foreign-child' | 'out-of-scope';

export async function runIsolation(
  stack: HardeningStack,
  a: SeededTenant,
  b: SeededTenant,
  ledger: KeyMaterialLedger,
): Promise<IsolationResult> {
  const doc = (await stack.http.get('/openapi.json')).body;
  // Deletions last: an allowed own-tenant DELETE (sent, not judged) removes a seeded resource that later reads of
  // other routes on it (e.g. a service principal's access reasons) would otherwise find gone, whatever the order
  // the document lists its paths in.
  const endpoints = [...endpointsOf(doc)].sort((x, y) => Number(x.method === 'DELETE') - Number(y.method === 'DELETE'));
  const principals: Principal[] = [];
  for (const t of [a, b]) {
    principals.push({ label: `${t === a ? 'A' : 'B'}.key_admin`, kind: 'keyAdmin', home: t, token: t.tokens.keyAdmin });
    principals.push({ label: `${t === a ? 'A' : 'B'}.auditor`, kind: 'auditor', home: t, token: t.tokens.auditor });
    principals.push({ label: `${t === a ? 'A' : 'B'}.service`, kind: 'service', home: t, token: t.tokens.service });
  }
  principals.push({ label: 'anonymous', kind: 'anonymous', home: null });
  principals.push({
    label: 'garbage-token',
    kind: 'garbage',
    home: null,
    token: `eyJhbGciOiJIUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
  });
  principals.push({ label: 'operator', kind: 'operator', home: null, token: stack.operatorToken });

  const r: IsolationResult = {
    endpoints: endpoints.length,
    principals: principals.length,
    cases: 0,
    failures: 0,
    positiveControls: 0,
    positiveControlFailures: 0,
    leaks: 0,
    confusedDeputyCases: 0,
    confusedDeputySucceeded: 0,
    azureConfusedDeputyCases: 0,
    azureConfusedDeputyAccepted: null,
    gcpConfusedDeputyCases: 0,
    gcpConfusedDeputyAccepted: null,
    details: [],
  };
  const fail = (what: string) => {
    r.failures++;
    if (r.details.length < 60) r.details.push(what);
  };
  const other = (t: SeededTenant | null) => (t === a ? b : a);

  for (const ep of endpoints) {
    for (const p of principals) {
      const home = p.home ?? a;
      const foreign = other(home);
      const targets: Target[] = ep.pathParams.length === 0 ? ['own'] : ['own', 'foreign'];
      if (
        ep.pathParams.some((n) =>
          [
            'keyConfiguration',
            'workspace',
            'operation',
            'servicePrincipal',
            'secret',
            'adminUser',
            'invitation',
            'mfaFactor',
            'bulkOperation',
          ].includes(paramKind(ep.path, n)),
        ) &&
        ep.pathParams.includes('tenantId')
      )
        targets.push('foreign-child');
      if (ep.security === 'service' && ep.pathParams.includes('workspaceId')) targets.push('out-of-scope');
      for (const target of targets) {
        const expected = expectation(ep, p, target);
        const { path, body } = buildRequest(ep, home, foreign, target);
        const res = await stack.http.request(ep.method, path, { token: p.token, body });
        const sent = `${path} ${body === undefined ? '' : JSON.stringify(body)}`;
        // Leak check on every answer: secrets of tenants other than the caller's, minus what the request carried.
        const outsiders = p.home ? [foreign] : [a, b];
        const leaked = outsiders.flatMap(secretsOf).filter((s) => !sent.includes(s) && res.text.includes(s));
        if (leaked.length) {
          r.leaks++;
          fail(
            `${ep.method} ${ep.path} as ${p.label} (${target}): answer leaks ${leaked.length} foreign name(s)/id(s)`,
          );
        }
        if (expected === 'skip') continue;
        if (expected === 'positive') {
          r.positiveControls++;
          if (res.status < 200 || res.status >= 300) {
            r.positiveControlFailures++;
            fail(`positive control ${ep.method} ${ep.path} as ${p.label}: ${res.status} ${res.text.slice(0, 160)}`);
          }
          recordDeks(res, ledger);
          continue;
        }
        r.cases++;
        if (!expected.includes(res.status) || !hasErrorCode(res))
          fail(
            `${ep.method} ${ep.path} as ${p.label} (${target}): expected ${expected.join('/')}, got ${res.status} ${res.text.slice(0, 160)}`,
          );
      }
    }
  }

  // Cross-tenant references in bodies, by each tenant's key admin against its own tenant's paths.
  for (const [home, foreign] of [
    [a, b],
    [b, a],
  ] as const) {
    const token = home.tokens.keyAdmin;
    const cases: Array<{ what: string; method: string; path: string; body: unknown }> = [
      {
        what: "bind own workspace to the other tenant's key configuration",
        method: 'PUT',
        path: `${home.base}/workspaces/${home.unboundWorkspaceId}/key-binding`,
        body: { keyConfigurationId: foreign.keyConfigurationId },
      },
      {
        what: "re-bind own bound workspace to the other tenant's key configuration",
        method: 'PUT',
        path: `${home.base}/workspaces/${home.workspaceId}/key-binding`,
        body: { keyConfigurationId: foreign.keyConfigurationId },
      },
      {
        what: "bulk bind of own workspace to the other tenant's key configuration",
        method: 'POST',
        path: `${home.base}/bulk-operations`,
        body: {
          action: 'bind',
          keyConfigurationId: foreign.keyConfigurationId,
          workspaceIds: [home.unboundWorkspaceId],
        },
      },
      {
        what: "bulk rewrap of the other tenant's key configuration",
        method: 'POST',
        path: `${home.base}/bulk-operations`,
        body: { action: 'rewrap', keyConfigurationId: foreign.keyConfigurationId },
      },
      {
        what: "service principal scoped to the other tenant's workspace",
        method: 'POST',
        path: `${home.base}/service-principals`,
        body: { name: `x-${randomBytes(3).toString('hex')}`, workspaceIds: [foreign.workspaceId] },
      },
      {
        what: "service principal scoped to own and the other tenant's workspace",
        method: 'POST',
        path: `${home.base}/service-principals`,
        body: { name: `y-${randomBytes(3).toString('hex')}`, workspaceIds: [home.workspaceId, foreign.workspaceId] },
      },
    ];
    for (const c of cases) {
      r.cases++;
      const res = await stack.http.request(c.method, c.path, { token, body: c.body });
      if (res.status < 400 || res.status >= 500 || !hasErrorCode(res))
        fail(`${c.what}: expected a 4xx, got ${res.status} ${res.text.slice(0, 160)}`);
      const leaked = secretsOf(foreign).filter(
        (s) => !JSON.stringify(c.body).includes(s) && !c.path.includes(s) && res.text.includes(s),
      );
      if (leaked.length) {
        r.leaks++;
        fail(`${c.what}: answer leaks ${leaked.length} foreign name(s)/id(s)`);
      }
    }
    // Confused deputy: the other tenant's role (which trusts only its own ExternalId) and key, registered here.
    r.confusedDeputyCases++;
    r.cases++;
    const cd = await stack.http.post(
      `${home.base}/key-configurations`,
      {
        name: `cd-${randomBytes(3).toString('hex')}`,
        provider: 'aws',
        aws: { keyArn: foreign.keyArn, roleArn: foreign.roleArn },
      },
      token,
    );
    if (cd.status < 500 && cd.body?.status === 'valid') {
      r.confusedDeputySucceeded++;
      fail(`confused deputy: tenant ${home === a ? 'A' : 'B'} registered the other tenant's role and key as valid`);
    } else if (cd.status >= 500) fail(`confused deputy registration answered ${cd.status}`);
  }
  if (stack.configuredProviders.includes('azure')) await azureConfusedDeputy(stack, a, b, r, fail);
  if (stack.configuredProviders.includes('gcp')) await gcpConfusedDeputy(stack, a, b, r, fail);
  return r;
}

/**
 * Each tenant's customer grants the tenant's own service account (as shown on the tenant) on a CryptoKey and
 * registers it (positive control). The other tenant registers the same key name (Keyhold derives that tenant's own
 * service account, whatever the request says) and tries to bind: anything valid or bound counts as accepted.
 */
async function gcpConfusedDeputy(
  stack: HardeningStack,
  a: SeededTenant,
  b: SeededTenant,
  r: IsolationResult,
  fail: (what: string) => void,
): Promise<void> {
  const endpoint = stack.config.providerEnv.KEYHOLD_GCP_KMS_ENDPOINT;
  if (!endpoint) return;
  const [host, port] = endpoint.split(':');
  // The customer's own Cloud KMS client: no caller identity, so the emulator treats it as the project owner.
  const customer = new KeyManagementServiceClient({
    apiEndpoint: host,
    port: Number(port),
    sslCreds: grpc.credentials.createSsl(Buffer.from(stack.emulators.tls.caPem)),
    authClient: new OAuth2Client(),
  });
  type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];
  r.gcpConfusedDeputyAccepted = 0;
  try {
    for (const [owner, intruder] of [
      [a, b],
      [b, a],
    ] as const) {
      const tenant = await stack.http.get(owner.base, owner.tokens.keyAdmin);
      const serviceAccount = tenant.body?.gcp?.serviceAccount as string | undefined;
      if (!serviceAccount) {
        fail('gcp confused deputy: the tenant shows no service account');
        continue;
      }
      const [ring] = await customer.createKeyRing({
        parent: 'projects/customer-proj/locations/europe-west1',
        keyRingId: `cd-${randomBytes(5).toString('hex')}`,
        keyRing: {},
      });
      const [key] = await customer.createCryptoKey({
        parent: ring.name!,
        cryptoKeyId: 'kek',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
      });
      const members = [`serviceAccount:${serviceAccount}`];
      const policy = {
        bindings: [
          { role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members },
          { role: 'roles/cloudkms.viewer', members },
        ],
      };
      await customer.setIamPolicy({ resource: key.name!, policy } as unknown as SetIamPolicyArg);

      const own = await stack.http.post(
        `${owner.base}/key-configurations`,
        { name: `gcp-own-${ring.name!.split('/').pop()}`, provider: 'gcp', gcp: { keyName: key.name, serviceAccount } },
        owner.tokens.keyAdmin,
      );
      r.positiveControls++;
      if (own.status !== 201 || own.body?.status !== 'valid') {
        r.positiveControlFailures++;
        fail(
          `gcp confused deputy positive control: the owner's registration answered ${own.status} ${own.body?.status ?? own.text.slice(0, 160)}`,
        );
      }
      const accepted = (what: string) => {
        r.gcpConfusedDeputyAccepted = (r.gcpConfusedDeputyAccepted ?? 0) + 1;
        fail(`gcp confused deputy: ${what}`);
      };
      // The intruder names the key, and once its own service account, once the owner's (which must be refused).
      for (const sa of [undefined, serviceAccount]) {
        r.cases++;
        r.gcpConfusedDeputyCases++;
        const intruderSa = (await stack.http.get(intruder.base, intruder.tokens.keyAdmin)).body?.gcp?.serviceAccount as
          string | undefined;
        const reg = await stack.http.post(
          `${intruder.base}/key-configurations`,
          {
            name: `gcp-cd-${randomBytes(4).toString('hex')}`,
            provider: 'gcp',
            gcp: { keyName: key.name, serviceAccount: sa ?? intruderSa },
          },
          intruder.tokens.keyAdmin,
        );
        if (reg.status >= 500) fail(`gcp confused deputy registration answered ${reg.status}`);
        if (reg.status < 300 && reg.body?.status === 'valid')
          accepted("a tenant registered a key granted to the other tenant's service account as valid");
        if (reg.status !== 201) continue;
        r.cases++;
        r.gcpConfusedDeputyCases++;
        const bind = await stack.http.put(
          `${intruder.base}/workspaces/${intruder.unboundWorkspaceId}/key-binding`,
          { keyConfigurationId: reg.body.id },
          intruder.tokens.keyAdmin,
        );
        if (bind.status < 300)
          accepted(`a tenant bound a workspace to a key granted to the other tenant (${bind.status})`);
        else if (bind.status >= 500 || !hasErrorCode(bind))
          fail(`gcp confused deputy bind answered ${bind.status} ${bind.text.slice(0, 160)}`);
      }
    }
  } finally {
    await customer.close();
  }
}

/**
 * Each tenant's customer grants Keyhold's application on a key and tags it with their own tenant's ExternalId, then
 * registers it (a positive control: it must validate). The other tenant, which knows the key URL and directory id
 * (neither is a secret), registers the same key, validates it again, and tries to bind a workspace to it: each
 * attempt that ends `valid` or bound counts as accepted.
 */
async function azureConfusedDeputy(
  stack: HardeningStack,
  a: SeededTenant,
  b: SeededTenant,
  r: IsolationResult,
  fail: (what: string) => void,
): Promise<void> {
  const d = AZURE_EMULATOR_DEFAULTS;
  const vaultUrl = (stack.emulators.clouds.azure as AzureEmulator).vaultUrl();
  const customer = azureCustomerKeys(stack.config.providerEnv, vaultUrl);
  r.azureConfusedDeputyAccepted = 0;
  try {
    for (const [owner, intruder] of [
      [a, b],
      [b, a],
    ] as const) {
      const name = `cd-${randomBytes(6).toString('hex')}`;
      await customer.keys.createRsaKey(name, { keySize: 2048, tags: { [OWNERSHIP_TAG]: owner.externalId } });
      const granted = await fetch(`${stack.emulators.admin.url}/azure/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          tenantId: d.customerTenantId,
          clientId: d.vendorClientId,
          key: name,
          ops: ['get', 'wrapKey', 'unwrapKey'],
        }),
      });
      if (granted.status !== 201) {
        fail(`azure confused deputy: could not grant the vendor app on ${name} (${granted.status})`);
        continue;
      }
      const azure = { keyId: `${vaultUrl}/keys/${name}`, tenantId: d.customerTenantId };
      const own = await stack.http.post(
        `${owner.base}/key-configurations`,
        { name: `az-own-${name}`, provider: 'azure', azure },
        owner.tokens.keyAdmin,
      );
      r.positiveControls++;
      if (own.status !== 201 || own.body?.status !== 'valid') {
        r.positiveControlFailures++;
        fail(
          `azure confused deputy positive control: the owner's registration answered ${own.status} ${own.body?.status ?? own.text.slice(0, 160)}`,
        );
      }
      const accepted = (what: string) => {
        r.azureConfusedDeputyAccepted = (r.azureConfusedDeputyAccepted ?? 0) + 1;
        fail(`azure confused deputy: ${what}`);
      };
      r.cases++;
      r.azureConfusedDeputyCases++;
      const reg = await stack.http.post(
        `${intruder.base}/key-configurations`,
        { name: `az-cd-${name}`, provider: 'azure', azure },
        intruder.tokens.keyAdmin,
      );
      if (reg.status >= 500) fail(`azure confused deputy registration answered ${reg.status}`);
      if (reg.status < 300 && reg.body?.status === 'valid')
        accepted('a tenant registered a key tagged for the other tenant as valid');
      if (reg.text.includes(owner.externalId)) {
        r.leaks++;
        fail("azure confused deputy: the refusal leaks the other tenant's ExternalId");
      }
      if (reg.status !== 201) continue;
      r.cases++;
      r.azureConfusedDeputyCases++;
      const again = await stack.http.post(
        `${intruder.base}/key-configurations/${reg.body.id}/validate`,
        {},
        intruder.tokens.keyAdmin,
      );
      if (again.status < 300 && again.body?.status === 'valid')
        accepted('validating again made the intruding registration valid');
      r.cases++;
      r.azureConfusedDeputyCases++;
      const bind = await stack.http.put(
        `${intruder.base}/workspaces/${intruder.unboundWorkspaceId}/key-binding`,
        { keyConfigurationId: reg.body.id },
        intruder.tokens.keyAdmin,
      );
      if (bind.status < 300)
        accepted(`a tenant bound a workspace to a key tagged for the other tenant (${bind.status})`);
      else if (bind.status >= 500 || !hasErrorCode(bind))
        fail(`azure confused deputy bind answered ${bind.status} ${bind.text.slice(0, 160)}`);
    }
  } finally {
    customer.close();
  }
}

/** The statuses a denial must have, 'positive' for an allowed own-tenant read, 'skip' for an allowed mutation. */
function expectation(ep: Endpoint, p: Principal, target: Target): number[] | 'positive' | 'skip' {
  if (ep.security === 'none') return 'skip';
  if (p.kind === 'anonymous' || p.kind === 'garbage') return [401];
  if (ep.security === 'operator') return p.kind === 'operator' ? 'skip' : [401];
  if (p.kind === 'operator') return [401];
  if (ep.security === 'service') {
    if (p.kind !== 'service') return [401];
    if (target === 'own') return ep.method === 'GET' || ep.operationId === 'batchGetDeks' ? 'positive' : 'skip';
    return [404];
  }
  // admin API
  if (p.kind === 'service') return [401];
  const roleOk = ep.roles.includes(p.kind === 'keyAdmin' ? 'key_admin' : 'auditor');
  if (target === 'foreign') return [404];
  if (target === 'foreign-child') return roleOk ? [404] : [403, 404];
  if (!roleOk) return [403];
  return ep.method === 'GET' ? 'positive' : 'skip';
}

function buildRequest(
  ep: Endpoint,
  home: SeededTenant,
  foreign: SeededTenant,
  target: Target,
): { path: string; body: unknown } {
  const values: Record<string, string> = {};
  for (const name of ep.pathParams) {
    const kind = paramKind(ep.path, name);
    const owner = target === 'foreign' || (target === 'foreign-child' && kind !== 'tenant') ? foreign : home;
    switch (kind) {
      case 'tenant':
        values[name] = owner.id;
        break;
      case 'workspace':
        values[name] = target === 'out-of-scope' ? home.unboundWorkspaceId : owner.workspaceId;
        break;
      case 'keyConfiguration':
        values[name] = owner.keyConfigurationId;
        break;
      case 'operation':
        values[name] = owner.operationId;
        break;
      case 'adminUser':
        values[name] = owner.spareAdminUserId;
        break;
      case 'invitation':
        values[name] = owner.invitationId;
        break;
      case 'mfaFactor':
        values[name] = owner.mfaFactorId;
        break;
      case 'segment':
        values[name] = `iso-${randomBytes(3).toString('hex')}`;
        break;
      case 'servicePrincipal':
        values[name] = owner.spareServicePrincipalId;
        break;
      case 'secret':
        values[name] = owner.spareSecretId;
        break;
      case 'siemDestination':
        values[name] = owner.spareSiemDestinationId;
        break;
      case 'bulkOperation':
        values[name] = owner.bulkOperationId;
        break;
      default:
        values[name] = owner.id;
    }
  }
  const bodyOwner = target === 'foreign' ? foreign : home;
  return { path: fillPath(ep.path, values), body: ep.hasBody ? validBody(ep, bodyOwner) : undefined };
}

/** A well-formed body, so a denial is about who is asking and not about what was sent. */
function validBody(ep: Endpoint, t: SeededTenant): unknown {
  if (ep.bodySchemaRef === 'TokenRequest')
    return { grant_type: 'client_credentials', client_id: t.clientId, client_secret: 'wrong-secret' };
  return wellFormedBody(ep.bodySchemaRef, t, 'iso') ?? {};
}

export function hasErrorCode(res: HttpResult): boolean {
  return typeof res.body?.error?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(res.body.error.code);
}

export function recordDeks(res: HttpResult, ledger: KeyMaterialLedger): void {
  if (res.status !== 200 || !res.body) return;
  if (typeof res.body.dek === 'string') ledger.recordBase64(res.body.dek);
  if (Array.isArray(res.body.deks)) for (const d of res.body.deks) ledger.recordBase64(d?.dek);
}
