import { randomBytes } from 'node:crypto';
import { inviteUser, onboardTenant } from '../../apps/api/src/dev/onboarding-client';
import { expectStatus, HttpClient } from '../../stack';
import type { HardeningStack } from './stack';

/**
 * One tenant as a customer sets it up: a key admin, an auditor, an AWS key configuration (real role + key in the
 * emulator, ExternalId-guarded), a bound and an unbound workspace, a service principal scoped to the bound one,
 * an operation, and a token for each principal. The isolation matrix needs two of these; the other sections one.
 */
export interface SeededTenant {
  id: string;
  name: string;
  externalId: string;
  adminEmail: string;
  adminPassword: string;
  auditorEmail: string;
  tokens: { keyAdmin: string; auditor: string; service: string };
  keyArn: string;
  roleArn: string;
  keyConfigurationId: string;
  keyConfigurationName: string;
  workspaceId: string;
  workspaceName: string;
  unboundWorkspaceId: string;
  unboundWorkspaceName: string;
  operationId: string;
  servicePrincipalId: string;
  clientId: string;
  clientSecret: string;
  /**
   * A second principal no section depends on, with its one secret: the target of the service-principal lifecycle
   * routes in the matrix and the fuzzer (which may disable, rotate or delete it without breaking the first one).
   */
  spareServicePrincipalId: string;
  spareSecretId: string;
  adminUserIds: string[];
  /** An auditor nobody else relies on: the target of admin-user mutations in the matrix and the fuzzer. */
  spareAdminUserId: string;
  /** A pending invitation (its link is in the dev mailbox only). */
  invitationId: string;
  /**
   * The key admin's pending (unconfirmed) TOTP set-up: a real factor id for the MFA routes in the matrix, which
   * does not make the key admin's sign-in need a second factor.
   */
  mfaFactorId: string;
  /** A SIEM destination (to a name that never resolves) the matrix and the fuzzer may rotate, retry or delete. */
  spareSiemDestinationId: string;
  /** A bulk operation (a re-key of the unbound workspace, which fails for that one item and changes nothing). */
  bulkOperationId: string;
  base: string;
  dekPath(segment: string, workspaceId?: string): string;
}

export async function seedTenant(stack: HardeningStack, label = 't'): Promise<SeededTenant> {
  const http = stack.http;
  const suffix = randomBytes(4).toString('hex');
  const name = `${label}-${suffix}`;
  // Onboarding as it really happens: invitation mailed (dev mailbox), accepted with the admin's own password.
  const onboarded = await onboardTenant(stack.url, stack.operatorToken, {
    name,
    email: `admin-${suffix}@${label}.example.com`,
  });
  const { email: adminEmail, password: adminPassword, token: keyAdmin } = onboarded;
  const created = { body: onboarded.tenant };
  const id = onboarded.tenant.id;
  const base = `/v1/tenants/${id}`;

  const auditorUser = await inviteUser(stack.url, keyAdmin, id, {
    email: `auditor-${suffix}@${label}.example.com`,
    role: 'auditor',
  });
  const auditorEmail = auditorUser.email;
  const auditor = auditorUser.token;
  // A user the matrix and the fuzzer may re-role, disable or delete without touching the principals above.
  const spareUser = await inviteUser(stack.url, keyAdmin, id, {
    email: `spare-${suffix}@${label}.example.com`,
    role: 'auditor',
  });
  const pending = expectStatus(
    'invitation',
    await http.post(
      `${base}/invitations`,
      { email: `pending-${suffix}@${label}.example.com`, role: 'auditor' },
      keyAdmin,
    ),
    201,
  );
  const siem = expectStatus(
    'siem destination',
    await http.post(
      `${base}/siem-destinations`,
      { name: `siem-${suffix}`, kind: 'webhook', url: `https://siem-${suffix}.siem.invalid/keyhold` },
      keyAdmin,
    ),
    201,
  );

  const vendor = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  const roleName = `role-${suffix}`;
  const roleArn = await stack.aws.createRole(roleName, vendor, created.body.aws.externalId);
  const keyArn = await stack.aws.createKey(roleArn, roleName);
  const keyConfigurationName = `kc-${suffix}`;
  const kc = expectStatus(
    'register key',
    await http.post(
      `${base}/key-configurations`,
      { name: keyConfigurationName, provider: 'aws', aws: { keyArn, roleArn } },
      keyAdmin,
    ),
    201,
  );
  if (kc.body.status !== 'valid')
    throw new Error(`seed key configuration is not valid: ${JSON.stringify(kc.body.validation)}`);

  const workspaceName = `ws-${suffix}`;
  const ws = expectStatus(
    'create workspace',
    await http.post(`${base}/workspaces`, { name: workspaceName }, keyAdmin),
    201,
  );
  expectStatus(
    'bind',
    await http.put(`${base}/workspaces/${ws.body.id}/key-binding`, { keyConfigurationId: kc.body.id }, keyAdmin),
    200,
  );
  const unboundWorkspaceName = `ws-unbound-${suffix}`;
  const ws2 = expectStatus(
    'create workspace',
    await http.post(`${base}/workspaces`, { name: unboundWorkspaceName }, keyAdmin),
    201,
  );
  const sp = expectStatus(
    'service principal',
    await http.post(`${base}/service-principals`, { name: `svc-${suffix}`, workspaceIds: [ws.body.id] }, keyAdmin),
    201,
  );
  const svc = expectStatus(
    'service token',
    await http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    }),
    200,
  );
  const spare = expectStatus(
    'spare service principal',
    await http.post(`${base}/service-principals`, { name: `spare-${suffix}`, workspaceIds: [ws.body.id] }, keyAdmin),
    201,
  );
  const spareDetail = expectStatus(
    'spare service principal',
    await http.get(`${base}/service-principals/${spare.body.id}`, keyAdmin),
    200,
  );
  const op = expectStatus(
    'operation',
    await http.post(`${base}/workspaces/${ws.body.id}/operations`, { kind: 'revocation-check' }, keyAdmin),
    202,
  );
  const wsId = ws.body.id as string;
  const bulk = expectStatus(
    'bulk operation',
    await http.post(
      `${base}/bulk-operations`,
      { action: 'rekey', keyConfigurationId: kc.body.id, workspaceIds: [ws2.body.id] },
      keyAdmin,
    ),
    202,
  );
  return {
    id,
    name,
    externalId: created.body.aws.externalId,
    adminEmail,
    adminPassword,
    auditorEmail,
    tokens: { keyAdmin, auditor, service: svc.body.access_token },
    keyArn,
    roleArn,
    keyConfigurationId: kc.body.id,
    keyConfigurationName,
    workspaceId: wsId,
    workspaceName,
    unboundWorkspaceId: ws2.body.id,
    unboundWorkspaceName,
    operationId: op.body.operationId,
    servicePrincipalId: sp.body.id,
    clientId: sp.body.clientId,
    clientSecret: sp.body.clientSecret,
    spareServicePrincipalId: spare.body.id,
    spareSecretId: spareDetail.body.secrets[0].id,
    adminUserIds: [auditorUser.id, spareUser.id],
    spareAdminUserId: spareUser.id,
    invitationId: pending.body.id as string,
    mfaFactorId: expectStatus('totp set-up', await http.post(`${base}/me/mfa/totp`, { label: 'seeded' }, keyAdmin), 201)
      .body.factorId as string,
    spareSiemDestinationId: siem.body.destination.id as string,
    bulkOperationId: bulk.body.id as string,
    base,
    dekPath: (segment: string, workspaceId = wsId) =>
      `/internal/v1/workspaces/${workspaceId}/segments/${encodeURIComponent(segment)}/dek`,
  };
}

export async function passwordToken(
  http: HttpClient,
  tenantId: string,
  username: string,
  password: string,
): Promise<string> {
  const r = expectStatus(
    'admin token',
    await http.post('/v1/auth/token', { grant_type: 'password', tenant_id: tenantId, username, password }),
    200,
  );
  return r.body.access_token as string;
}

/** The names and ids of a tenant that must never appear in an answer to another tenant's principal. */
export function secretsOf(t: SeededTenant): string[] {
  return [
    t.id,
    t.name,
    t.externalId,
    t.adminEmail,
    t.auditorEmail,
    t.keyArn,
    t.roleArn,
    t.keyConfigurationId,
    t.keyConfigurationName,
    t.workspaceId,
    t.workspaceName,
    t.unboundWorkspaceId,
    t.unboundWorkspaceName,
    t.operationId,
    t.servicePrincipalId,
    t.spareServicePrincipalId,
    t.spareSecretId,
    t.mfaFactorId,
    t.spareSiemDestinationId,
    t.bulkOperationId,
    t.clientId,
    ...t.adminUserIds,
  ].filter((s) => typeof s === 'string' && s.length >= 6);
}
