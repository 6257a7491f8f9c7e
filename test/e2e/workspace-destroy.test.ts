import { randomBytes } from 'node:crypto';
import { ApiApp } from '../../apps/api/src/app';
import { discardLogs, startApi } from '../../stack';
import { HttpClient, startStack, tenantWithAdmin, TestStack } from '../support/stack';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';

/**
 * DELETE /v1/tenants/{t}/workspaces/{id} over HTTP, with two API replicas sharing Postgres and Redis: only a key admin
 * may destroy, only with the workspace name typed back; afterwards both replicas answer 410 WORKSPACE_DESTROYED at
 * once (the second one had the KEK and the DEK row cached), nothing of the workspace's keys is left in Postgres, and
 * the destruction is in the audit log with who did it.
 */
describe('DELETE workspace (deliberate crypto-shred)', () => {
  let stack: TestStack;
  let replica2: ApiApp;

  beforeAll(async () => {
    stack = await startStack();
    replica2 = await startApi(stack.config, { logDestination: discardLogs() });
  });
  afterAll(async () => {
    await replica2?.close();
    await stack?.close();
  });

  async function boundWorkspace() {
    const t = await tenantWithAdmin(stack);
    const roleName = `r-${randomBytes(4).toString('hex')}`;
    const roleArn = await stack.aws.createRole(
      roleName,
      stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!,
      t.tenant.aws.externalId,
    );
    const keyArn = await stack.aws.createKey(roleArn, roleName);
    const base = `/v1/tenants/${t.tenant.id}`;
    const kc = await stack.http.post(
      `${base}/key-configurations`,
      { name: 'k', provider: 'aws', aws: { keyArn, roleArn } },
      t.token,
    );
    expect(kc.body.status).toBe('valid');
    const name = `payroll-${randomBytes(3).toString('hex')}`;
    const ws = await stack.http.post(`${base}/workspaces`, { name }, t.token);
    expect(
      (
        await stack.http.put(
          `${base}/workspaces/${ws.body.id}/key-binding`,
          { keyConfigurationId: kc.body.id },
          t.token,
        )
      ).status,
    ).toBe(200);
    const sp = await stack.http.post(`${base}/service-principals`, { name: 's', workspaceIds: [ws.body.id] }, t.token);
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: sp.body.clientId,
      client_secret: sp.body.clientSecret,
    });
    const wsId = ws.body.id as string;
    return {
      ...t,
      base,
      name,
      kcId: kc.body.id as string,
      wsId,
      svc: tok.body.access_token as string,
      dekPath: (seg: string) => `/internal/v1/workspaces/${wsId}/segments/${seg}/dek`,
    };
  }

  it('key admin only, typed confirmation, 410 WORKSPACE_DESTROYED on every replica at once, rows gone, audited', async () => {
    const w = await boundWorkspace();
    const r2 = new HttpClient(replica2.url, replica2.internalUrl);
    // Both replicas serve (and cache) the DEK first.
    const d1 = await stack.http.get(w.dekPath('s1'), w.svc);
    expect(d1.status).toBe(200);
    expect((await r2.get(w.dekPath('s1'), w.svc)).body.dek).toBe(d1.body.dek);

    // Who may not: an auditor, a service principal, the platform operator, another tenant's key admin.
    const auditor = await inviteUser(stack.url, w.token, w.tenant.id, { email: `aud-${w.email}`, role: 'auditor' });
    const aud = { body: { access_token: auditor.token } };
    const del = (token: string, body?: unknown) =>
      stack.http.request('DELETE', `${w.base}/workspaces/${w.wsId}`, { token, body });
    expect((await del(aud.body.access_token, { confirm: w.name })).status).toBe(403);
    expect((await del(w.svc, { confirm: w.name })).status).toBe(401);
    expect((await del(stack.operatorToken, { confirm: w.name })).status).toBe(401);
    const other = await tenantWithAdmin(stack);
    expect((await del(other.token, { confirm: w.name })).status).toBe(404);

    // Wrong or missing confirmation: 400 with a code, nothing changed.
    for (const body of [undefined, {}, { confirm: w.name.toUpperCase() }, { confirm: 42 }, { name: w.name }]) {
      const r = await del(w.token, body);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('CONFIRMATION_MISMATCH');
    }
    expect((await stack.http.get(w.dekPath('s1'), w.svc)).status).toBe(200);

    expect(replica2.services.deks.cacheSizes().wrapped).toBeGreaterThan(0);
    const destroyed = await del(w.token, { confirm: w.name });
    expect(destroyed.status).toBe(200);
    expect(destroyed.body).toMatchObject({
      id: w.wsId,
      keyState: 'destroyed',
      keyConfigurationId: null,
      kekVersion: null,
    });

    // Replica 2's caches are purged by the shred broadcast: plaintext KEK, state and wrapped DEK rows.
    const deadline = Date.now() + 2_000;
    while (
      (replica2.services.kekCache.cachedWorkspaces().includes(w.wsId) ||
        replica2.services.deks.cacheSizes().wrapped > 0) &&
      Date.now() < deadline
    )
      await new Promise((res) => setTimeout(res, 20));
    expect(replica2.services.deks.cacheSizes().wrapped).toBe(0);
    // Both replicas refuse at once: replica 2 had the KEK, the state and the wrapped row cached.
    for (const http of [stack.http, r2]) {
      for (const seg of ['s1', 'never-issued']) {
        const r = await http.get(w.dekPath(seg), w.svc);
        expect(r.status).toBe(410);
        expect(r.body.error.code).toBe('WORKSPACE_DESTROYED');
      }
      const b = await http.post(
        `/internal/v1/workspaces/${w.wsId}/deks:batchGet`,
        { segmentIds: ['s1', 'new'] },
        w.svc,
      );
      expect(b.status).toBe(410);
    }
    expect(replica2.services.kekCache.cachedWorkspaces()).not.toContain(w.wsId);

    const ds = stack.api.services.ds;
    const left = await ds.query(
      `SELECT (SELECT count(*)::int FROM kek_versions WHERE workspace_id = $1) AS keks, (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS deks`,
      [w.wsId],
    );
    expect(left[0]).toEqual({ keks: 0, deks: 0 });
    // Irreversible: again → 410; re-bind → 409; reinstate → 410; the key configuration is free to delete.
    expect((await del(w.token, { confirm: w.name })).body.error.code).toBe('WORKSPACE_DESTROYED');
    const rebind = await stack.http.put(
      `${w.base}/workspaces/${w.wsId}/key-binding`,
      { keyConfigurationId: w.kcId },
      w.token,
    );
    expect(rebind.status).toBe(409);
    expect(rebind.body.error.code).toBe('DESTROYED_WORKSPACE_NOT_BINDABLE');
    const reinstate = await stack.http.post(
      `${w.base}/workspaces/${w.wsId}/operations`,
      { kind: 'reinstate' },
      w.token,
    );
    expect(reinstate.status).toBe(410);
    expect((await stack.http.delete(`${w.base}/key-configurations/${w.kcId}`, w.token)).status).toBe(204);

    await stack.api.services.audit.drain();
    const audit = await stack.http.get(`${w.base}/audit-events?limit=100`, w.token);
    const events = (audit.body.events ?? audit.body.items ?? []) as Array<{
      action: string;
      actor: string;
      at: string;
      outcome: string;
    }>;
    const entry = events.find((e) => e.action === 'workspace.destroyed');
    expect(entry).toMatchObject({ actor: expect.stringMatching(/^admin:/), outcome: 'success' });
    expect(entry?.at).toBeTruthy();
  });

  it('DEK creates racing the destroy on two replicas: every answer is 200 (before) or 410 (after), never a 5xx; no row survives', async () => {
    const w = await boundWorkspace();
    const r2 = new HttpClient(replica2.url, replica2.internalUrl);
    const statuses: number[] = [];
    let stop = false;
    const load = [stack.http, r2, stack.http, r2].map(async (http, i) => {
      for (let n = 0; !stop || n < 3; n++) {
        const r = await http.post(
          `/internal/v1/workspaces/${w.wsId}/deks:batchGet`,
          { segmentIds: [`race-${i}-${n}`, `race-${i}-${n}-b`, 'shared'] },
          w.svc,
        );
        statuses.push(r.status);
        if (stop && r.status === 410) return;
      }
    });
    await new Promise((res) => setTimeout(res, 150));
    const destroyed = await stack.http.request('DELETE', `${w.base}/workspaces/${w.wsId}`, {
      token: w.token,
      body: { confirm: w.name },
    });
    stop = true;
    await Promise.all(load);
    expect(destroyed.status).toBe(200);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200 && s !== 410)).toEqual([]);
    expect(statuses[statuses.length - 1]).toBe(410);
    const left = await stack.api.services.ds.query(
      `SELECT (SELECT count(*)::int FROM kek_versions WHERE workspace_id = $1) + (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS n`,
      [w.wsId],
    );
    expect(left[0].n).toBe(0);
  });
});
