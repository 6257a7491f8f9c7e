import { randomBytes } from 'node:crypto';
import { startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';

/**
 * The whole path against AWS (real SDK → AWS emulator, real Postgres, real Redis): tenant → admin token →
 * key configuration (valid and each invalid kind) → workspace → bind → service principal → DEKs → isolation.
 */
describe('AWS end to end', () => {
  let stack: TestStack;
  let vendorArn: string;

  beforeAll(async () => {
    stack = await startStack();
    vendorArn = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  });
  afterAll(async () => stack?.close());

  const unique = () => randomBytes(4).toString('hex');

  async function awsSetup(externalId: string) {
    const roleName = `keyhold-${unique()}`;
    const roleArn = await stack.aws.createRole(roleName, vendorArn, externalId);
    const keyArn = await stack.aws.createKey(roleArn, roleName);
    return { roleName, roleArn, keyArn };
  }

  async function boundWorkspace() {
    const t = await tenantWithAdmin(stack);
    const { keyArn, roleArn } = await awsSetup(t.tenant.aws.externalId);
    const base = `/v1/tenants/${t.tenant.id}`;
    const kc = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'main', provider: 'aws', aws: { keyArn, roleArn } },
      t.token,
    );
    expect(kc.status).toBe(201);
    expect(kc.body.status).toBe('valid');
    const ws = await stack.http.post(`${base}/workspaces`, { name: 'ws' }, t.token);
    const bound = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: kc.body.id },
      t.token,
    );
    expect(bound.status).toBe(200);
    const sp = await stack.http.post(
      `${base}/service-principals`,
      { name: 'svc', workspaceIds: [ws.body.id] },
      t.token,
    );
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    return {
      ...t,
      base,
      keyArn,
      roleArn,
      kcId: kc.body.id as string,
      wsId: ws.body.id as string,
      sp: sp.body,
      svcToken: tok.body.access_token as string,
    };
  }

  it('walks tenant → key configuration → workspace → bind → service principal → DEKs', async () => {
    const t = await tenantWithAdmin(stack);
    expect(t.tenant.aws.externalId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(t.tenant.aws.trustedPrincipalArn).toBe(vendorArn);
    const base = `/v1/tenants/${t.tenant.id}`;
    const { keyArn, roleArn } = await awsSetup(t.tenant.aws.externalId);

    const kc = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'primary', provider: 'aws', aws: { keyArn, roleArn } },
      t.token,
    );
    expect(kc.status).toBe(201);
    expect(kc.body).toMatchObject({ provider: 'aws', status: 'valid' });
    expect(kc.body.validation.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(JSON.stringify(kc.body)).not.toContain(t.tenant.aws.externalId);

    const ws = await stack.http.post(`${base}/workspaces`, { name: 'orders' }, t.token);
    expect(ws.status).toBe(201);
    expect(ws.body).toMatchObject({ name: 'orders', keyState: 'unbound' });

    const bound = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: kc.body.id },
      t.token,
    );
    expect(bound.status).toBe(200);
    expect(bound.body).toMatchObject({
      id: ws.body.id,
      keyState: 'active',
      keyConfigurationId: kc.body.id,
      kekVersion: 1,
      degraded: false,
    });

    const sp = await stack.http.post(
      `${base}/service-principals`,
      { name: 'ingest', workspaceIds: [ws.body.id] },
      t.token,
    );
    expect(sp.status).toBe(201);
    expect(sp.body.clientSecret).toEqual(expect.any(String));
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    expect(tok.status).toBe(200);
    const svc = tok.body.access_token;

    const d1 = await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/seg-1/dek`, svc);
    expect(d1.status).toBe(200);
    expect(Buffer.from(d1.body.dek, 'base64')).toHaveLength(32);
    expect(d1.body.kekVersion).toBe(1);
    const again = await stack.http.get(`/internal/v1/workspaces/${ws.body.id}/segments/seg-1/dek`, svc);
    expect(again.body).toEqual(d1.body);

    const batch = await stack.http.post(
      `/internal/v1/workspaces/${ws.body.id}/deks:batchGet`,
      { segmentIds: ['seg-1', 'seg-2', 'seg-3'] },
      svc,
    );
    expect(batch.status).toBe(200);
    expect(batch.body.deks.map((d: { segmentId: string }) => d.segmentId)).toEqual(['seg-1', 'seg-2', 'seg-3']);
    expect(batch.body.deks[0]).toMatchObject({ dek: d1.body.dek, dekId: d1.body.dekId });
    expect(new Set(batch.body.deks.map((d: { dek: string }) => d.dek)).size).toBe(3);

    const got = await stack.http.get(`${base}/workspaces/${ws.body.id}`, t.token);
    expect(got.body).toMatchObject({ keyState: 'active', kekVersion: 1 });
  });

  it('reports each invalid configuration in words, and refuses malformed input and client ExternalIds', async () => {
    const t = await tenantWithAdmin(stack);
    const base = `/v1/tenants/${t.tenant.id}`;
    const reg = (name: string, aws: object) =>
      stack.http.post(`${base}/key-configurations`, { name, provider: 'aws', aws }, t.token);

    // role trusts the vendor without an ExternalId: the confused-deputy check must fail it
    const openRole = `open-${unique()}`;
    const openArn = await stack.aws.createRole(openRole, vendorArn, null);
    const openKey = await stack.aws.createKey(openArn, openRole);
    const r1 = await reg('no-external-id', { keyArn: openKey, roleArn: openArn });
    expect(r1.status).toBe(201);
    expect(r1.body.status).toBe('invalid');

    // role with another tenant's ExternalId: AssumeRole with ours fails
    const otherRole = `other-${unique()}`;
    const otherArn = await stack.aws.createRole(otherRole, vendorArn, 'someone-elses-external-id-000000');
    const otherKey = await stack.aws.createKey(otherArn, otherRole);
    const r2 = await reg('wrong-external-id', { keyArn: otherKey, roleArn: otherArn });
    expect(r2.body.status).toBe('invalid');
    expect(r2.body.validation.checks.find((c: { ok: boolean }) => !c.ok).message).toMatch(/ExternalId|trust/i);

    // key policy does not grant the role
    const { roleArn, roleName } = await awsSetup(t.tenant.aws.externalId);
    const ungranted = await stack.aws.createKey(roleArn, roleName, { grant: false });
    const r3 = await reg('not-granted', { keyArn: ungranted, roleArn });
    expect(r3.body.status).toBe('invalid');

    // signing key: usage is wrong
    const signKey = await stack.aws.createKey(roleArn, roleName, { usage: 'SIGN_VERIFY' });
    const r4 = await reg('sign-key', { keyArn: signKey, roleArn });
    expect(r4.body.status).toBe('invalid');
    expect(JSON.stringify(r4.body.validation)).toMatch(/SIGN_VERIFY/);

    // malformed identifiers → 400 with the reason
    const bad = await reg('bad', { keyArn: 'not-an-arn', roleArn });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_IDENTIFIER');
    expect(bad.body.error.message).toMatch(/keyArn/);

    // ExternalId from the client is refused
    const ext = await reg('ext', { keyArn: ungranted, roleArn, externalId: 'mine' });
    expect(ext.status).toBe(400);
    expect(ext.body.error.code).toBe('EXTERNAL_ID_NOT_ACCEPTED');

    // an invalid configuration cannot be bound
    const ws = await stack.http.post(`${base}/workspaces`, { name: 'w' }, t.token);
    const b = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: r3.body.id },
      t.token,
    );
    expect(b.status).toBe(409);
    expect(b.body.error.code).toBe('KEY_CONFIGURATION_INVALID');
  });

  it('isolates tenants and scopes service principals: foreign ids are 404', async () => {
    const a = await boundWorkspace();
    const b = await tenantWithAdmin(stack);
    // tenant B's admin on tenant A's paths
    for (const path of [
      a.base,
      `${a.base}/workspaces`,
      `${a.base}/workspaces/${a.wsId}`,
      `${a.base}/key-configurations/${a.kcId}`,
    ]) {
      const r = await stack.http.get(path, b.token);
      expect(r.status).toBe(404);
    }
    // tenant A's ids under tenant B's own path
    expect((await stack.http.get(`/v1/tenants/${b.tenant.id}/workspaces/${a.wsId}`, b.token)).status).toBe(404);
    expect((await stack.http.get(`/v1/tenants/${b.tenant.id}/key-configurations/${a.kcId}`, b.token)).status).toBe(404);
    // a service principal of tenant A scoped to nothing
    const other = await stack.http.post(
      `${a.base}/service-principals`,
      { name: 'unscoped', workspaceIds: [] },
      a.token,
    );
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: other.body.clientId,
      client_secret: other.body.clientSecret,
    });
    const r = await stack.http.get(`/internal/v1/workspaces/${a.wsId}/segments/x/dek`, tok.body.access_token);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('WORKSPACE_NOT_FOUND');
    // unknown workspace looks the same
    const unknown = await stack.http.get(
      `/internal/v1/workspaces/00000000-0000-4000-8000-000000000000/segments/x/dek`,
      a.svcToken,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(r.body);
  });

  it('enforces separation of duties', async () => {
    const a = await boundWorkspace();
    // admin token on the DEK API
    const adminOnDek = await stack.http.get(`/internal/v1/workspaces/${a.wsId}/segments/s/dek`, a.token);
    expect([401, 403]).toContain(adminOnDek.status);
    // service token on the admin API
    const svcOnAdmin = await stack.http.get(`${a.base}/workspaces`, a.svcToken);
    expect([401, 403]).toContain(svcOnAdmin.status);
    // operator token is not an admin token and vice versa
    expect((await stack.http.get(`${a.base}/workspaces`, stack.operatorToken)).status).toBe(401);
    expect(
      (await stack.http.post('/v1/tenants', { name: 'x', admin: { email: 'x@example.com' } }, a.token)).status,
    ).toBe(401);
    // auditor (invited, accepted): read-only
    const aud = await inviteUser(stack.url, a.token, a.tenant.id, {
      email: `aud-${unique()}@example.com`,
      role: 'auditor',
    });
    expect((await stack.http.get(`${a.base}/workspaces`, aud.token)).status).toBe(200);
    expect((await stack.http.get(`${a.base}/audit-events/verification`, aud.token)).status).toBe(200);
    const w = await stack.http.post(`${a.base}/workspaces`, { name: 'nope' }, aud.token);
    expect(w.status).toBe(403);
    expect(w.body.error.code).toBe('FORBIDDEN');
    // no token at all
    expect((await stack.http.get(`${a.base}/workspaces`)).status).toBe(401);
  });

  it('re-binding and requested operations become durable, de-duplicated operations (202)', async () => {
    const a = await boundWorkspace();
    const second = await awsSetup(a.tenant.aws.externalId);
    const kc2 = await stack.http.post(
      `${a.base}/key-configurations`,
      { name: 'second', provider: 'aws', aws: { keyArn: second.keyArn, roleArn: second.roleArn } },
      a.token,
    );
    expect(kc2.body.status).toBe('valid');
    // same configuration again: idempotent 200
    expect(
      (await stack.http.put(`${a.base}/workspaces/${a.wsId}/key-binding`, { keyConfigurationId: a.kcId }, a.token))
        .status,
    ).toBe(200);
    const rebind = await stack.http.put(
      `${a.base}/workspaces/${a.wsId}/key-binding`,
      { keyConfigurationId: kc2.body.id },
      a.token,
    );
    expect(rebind.status).toBe(202);
    const op = await stack.http.get(`${a.base}/operations/${rebind.body.operationId}`, a.token);
    expect(op.body).toMatchObject({
      id: rebind.body.operationId,
      kind: 'rekey',
      workspaceId: a.wsId,
      state: expect.stringMatching(/queued|running|succeeded/),
      progress: { done: expect.any(Number), total: expect.any(Number) },
    });

    const r1 = await stack.http.post(
      `${a.base}/workspaces/${a.wsId}/operations`,
      { kind: 'revocation-check' },
      a.token,
    );
    const r2 = await stack.http.post(
      `${a.base}/workspaces/${a.wsId}/operations`,
      { kind: 'revocation-check' },
      a.token,
    );
    expect(r1.status).toBe(202);
    const again = await stack.http.get(`${a.base}/operations/${r1.body.operationId}`, a.token);
    if (again.body.state === 'queued' || again.body.state === 'running')
      expect(r2.body.operationId).toBe(r1.body.operationId);
    const bad = await stack.http.post(`${a.base}/workspaces/${a.wsId}/operations`, { kind: 'rekey' }, a.token);
    expect(bad.status).toBe(400);
    const reinstate = await stack.http.post(
      `${a.base}/workspaces/${a.wsId}/operations`,
      { kind: 'reinstate' },
      a.token,
    );
    expect(reinstate.status).toBe(409);
    // the job carries ids only
    const { Queue } = await import('bullmq');
    const q = new Queue('keyhold-rekey', { connection: { host: '127.0.0.1', port: 6379 }, prefix: stack.redisPrefix });
    const job = await q.getJob(rebind.body.operationId);
    await q.close();
    expect(job?.data).toEqual({ operationId: rebind.body.operationId, tenantId: a.tenant.id });
  });

  it('answers 409 WORKSPACE_UNBOUND and deletes configurations only when unbound', async () => {
    const a = await boundWorkspace();
    const ws2 = await stack.http.post(`${a.base}/workspaces`, { name: 'unbound' }, a.token);
    const sp = await stack.http.post(
      `${a.base}/service-principals`,
      { name: 'svc2', workspaceIds: [ws2.body.id] },
      a.token,
    );
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    const r = await stack.http.get(`/internal/v1/workspaces/${ws2.body.id}/segments/s/dek`, tok.body.access_token);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('WORKSPACE_UNBOUND');
    const del = await stack.http.delete(`${a.base}/key-configurations/${a.kcId}`, a.token);
    expect(del.status).toBe(409);
    expect(del.body.error.code).toBe('KEY_CONFIGURATION_IN_USE');
  });
});
