import { createApiApp, ApiApp } from '../../apps/api/src/app';
import { inviteUser } from '../../apps/api/src/dev/onboarding-client';
import { awsBoundWorkspace, HttpClient, startStack, TestStack } from '../support/stack';

/**
 * Key access justifications: a DEK request may carry `Keyhold-Access-Reason` (closed set) and
 * `Keyhold-Access-Ticket`; the principal's allowed reasons and the workspace's policy decide, on the warm path as
 * on the cold one, single and batch; refusals answer 403 with a code and are audited, aggregated per
 * (principal, workspace, reason, minute) like issuance; policy changes are key-admin actions audited in the
 * change's transaction and reach every replica at once.
 */
describe('key access justifications', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const fetchDek = (http: HttpClient, path: string, token: string, reason?: string, ticket?: string) =>
    http.request('GET', path, {
      token,
      headers: {
        ...(reason !== undefined ? { 'keyhold-access-reason': reason } : {}),
        ...(ticket !== undefined ? { 'keyhold-access-ticket': ticket } : {}),
      },
    });
  const batch = (http: HttpClient, path: string, token: string, segmentIds: string[], reason?: string) =>
    http.request('POST', path, {
      token,
      body: { segmentIds },
      headers: reason ? { 'keyhold-access-reason': reason } : {},
    });

  /** Writes what the DEK path counted so far into the audit log (the aggregator flushes every 10 s otherwise). */
  async function flushUsage() {
    stack.api.services.issuance.flush(true);
    await stack.api.services.auditBuffer.flush();
  }

  async function auditEvents(
    base: string,
    token: string,
  ): Promise<
    Array<{ action: string; actor: string; target: string; outcome: string; details: Record<string, unknown> }>
  > {
    const r = await stack.http.get(`${base}/audit-events?limit=1000`, token);
    expect(r.status).toBe(200);
    return r.body.events;
  }

  it('refuses an unknown reason or a malformed ticket with 400 and a code, single and batch', async () => {
    const w = await awsBoundWorkspace(stack);
    expect((await fetchDek(stack.http, w.dekPath('s1'), w.svc)).status).toBe(200);
    for (const bad of ['because', 'customer_initiated', '', 'BACKUP, BACKUP', 'VENDOR SUPPORT', 'backup']) {
      const r = await fetchDek(stack.http, w.dekPath('s1'), w.svc, bad);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ACCESS_REASON');
      expect(r.body.error.message).toMatch(/CUSTOMER_INITIATED/);
    }
    const b = await batch(stack.http, w.batchPath, w.svc, ['s1'], 'NOPE');
    expect(b.status).toBe(400);
    expect(b.body.error.code).toBe('INVALID_ACCESS_REASON');
    for (const ticket of ['x'.repeat(65), 'has space', '-leading', 'semi;colon', '<script>']) {
      const r = await fetchDek(stack.http, w.dekPath('s1'), w.svc, 'BACKUP', ticket);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('INVALID_ACCESS_TICKET');
    }
    const noReason = await fetchDek(stack.http, w.dekPath('s1'), w.svc, undefined, 'INC-1');
    expect(noReason.status).toBe(400);
    expect(noReason.body.error.code).toBe('INVALID_ACCESS_TICKET');
    // a well-formed request still works, with and without a ticket
    expect((await fetchDek(stack.http, w.dekPath('s1'), w.svc, 'BACKUP', 'JIRA-123/a.b_c:d#e')).status).toBe(200);
    expect((await fetchDek(stack.http, w.dekPath('s1'), w.svc, 'CUSTOMER_INITIATED')).status).toBe(200);
  });

  it("refuses reasons outside the principal's allowance (by default the vendor's support staff and emergency), warm and cold, until a key admin allows them", async () => {
    const w = await awsBoundWorkspace(stack);
    const allowed = await stack.http.get(
      `${w.base}/service-principals/${(await w.principal()).id}/access-reasons`,
      w.token,
    );
    expect(allowed.status).toBe(200);
    expect(allowed.body.allowedReasons).toEqual(['CUSTOMER_INITIATED', 'SCHEDULED_JOB', 'BACKUP', 'MIGRATION']);

    const sp = await w.principal();
    // cold: nothing cached for this principal yet
    const cold = await fetchDek(stack.http, w.dekPath('c1'), sp.token, 'VENDOR_SUPPORT');
    expect(cold.status).toBe(403);
    expect(cold.body.error.code).toBe('REASON_DENIED');
    expect(cold.body.error.message).toMatch(/service principal may not give the reason VENDOR_SUPPORT/);
    // nothing was created for the refused request
    const rows = await stack.api.services.ds.query(
      `SELECT count(*)::int AS n FROM deks WHERE workspace_id = $1 AND segment_id = 'c1'`,
      [w.wsId],
    );
    expect(rows[0].n).toBe(0);
    // warm: the DEK is cached; the refusal still holds
    expect((await fetchDek(stack.http, w.dekPath('c1'), sp.token, 'SCHEDULED_JOB')).status).toBe(200);
    for (const reason of ['VENDOR_SUPPORT', 'EMERGENCY']) {
      const warm = await fetchDek(stack.http, w.dekPath('c1'), sp.token, reason);
      expect(warm.status).toBe(403);
      expect(warm.body.error.code).toBe('REASON_DENIED');
    }
    const b = await batch(stack.http, w.batchPath, sp.token, ['c1', 'c2'], 'EMERGENCY');
    expect(b.status).toBe(403);
    expect(b.body.error.code).toBe('REASON_DENIED');

    // the key admin allows VENDOR_SUPPORT (an auditor cannot); effective at once
    const auditor = await inviteUser(stack.url, w.token, w.tenant.id, {
      email: `aud-${Date.now()}@example.com`,
      role: 'auditor',
    });
    expect(
      (
        await stack.http.put(
          `${w.base}/service-principals/${sp.id}/access-reasons`,
          { allowedReasons: ['VENDOR_SUPPORT'] },
          auditor.token,
        )
      ).status,
    ).toBe(403);
    expect((await stack.http.get(`${w.base}/service-principals/${sp.id}/access-reasons`, auditor.token)).status).toBe(
      200,
    );
    const bad = await stack.http.put(
      `${w.base}/service-principals/${sp.id}/access-reasons`,
      { allowedReasons: ['ANYTHING'] },
      w.token,
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const set = await stack.http.put(
      `${w.base}/service-principals/${sp.id}/access-reasons`,
      { allowedReasons: ['VENDOR_SUPPORT', 'CUSTOMER_INITIATED', 'VENDOR_SUPPORT'] },
      w.token,
    );
    expect(set.status).toBe(200);
    expect(set.body.allowedReasons).toEqual(['CUSTOMER_INITIATED', 'VENDOR_SUPPORT']);
    expect((await fetchDek(stack.http, w.dekPath('c1'), sp.token, 'VENDOR_SUPPORT', 'SUP-77')).status).toBe(200);
    // and the reasons it no longer has are refused
    expect((await fetchDek(stack.http, w.dekPath('c1'), sp.token, 'SCHEDULED_JOB')).body.error.code).toBe(
      'REASON_DENIED',
    );

    const events = await auditEvents(w.base, w.token);
    const changed = events.filter((e) => e.action === 'service_principal.access_reasons_changed');
    expect(changed).toHaveLength(1);
    expect(changed[0].details).toEqual({
      from: ['CUSTOMER_INITIATED', 'SCHEDULED_JOB', 'BACKUP', 'MIGRATION'],
      to: ['CUSTOMER_INITIATED', 'VENDOR_SUPPORT'],
    });
    expect(changed[0].actor).toMatch(/^admin:/);
  });

  it("applies the workspace's policy (denied reasons, reason required) on every replica at once, and audits it", async () => {
    const w = await awsBoundWorkspace(stack);
    const replica2: ApiApp = await createApiApp(stack.config);
    const http2 = new HttpClient(replica2.url, replica2.internalUrl);
    try {
      const path = `${w.base}/workspaces/${w.wsId}/access-reason-policy`;
      expect((await stack.http.get(path, w.token)).body).toEqual({
        workspaceId: w.wsId,
        deniedReasons: [],
        requireReason: false,
      });
      // both replicas serve warm, with and without a reason
      for (const h of [stack.http, http2]) {
        expect((await fetchDek(h, w.dekPath('p1'), w.svc)).status).toBe(200);
        expect((await fetchDek(h, w.dekPath('p1'), w.svc, 'MIGRATION')).status).toBe(200);
      }
      const put = await stack.http.put(path, { deniedReasons: ['MIGRATION'], requireReason: true }, w.token);
      expect(put.status).toBe(200);
      expect(put.body).toEqual({ workspaceId: w.wsId, deniedReasons: ['MIGRATION'], requireReason: true });
      for (const h of [stack.http, http2]) {
        const started = Date.now();
        let r = await fetchDek(h, w.dekPath('p1'), w.svc);
        while (r.status === 200 && Date.now() - started < 2_000) r = await fetchDek(h, w.dekPath('p1'), w.svc);
        expect(r.status).toBe(403);
        expect(r.body.error.code).toBe('REASON_REQUIRED');
        expect(Date.now() - started).toBeLessThan(1_500);
        const denied = await fetchDek(h, w.dekPath('p1'), w.svc, 'MIGRATION');
        expect(denied.status).toBe(403);
        expect(denied.body.error.code).toBe('REASON_DENIED');
        expect(denied.body.error.message).toMatch(/workspace's policy refuses the reason MIGRATION/);
        expect((await batch(h, w.batchPath, w.svc, ['p1', 'p2'])).body.error.code).toBe('REASON_REQUIRED');
        expect((await fetchDek(h, w.dekPath('p1'), w.svc, 'BACKUP')).status).toBe(200);
        expect((await batch(h, w.batchPath, w.svc, ['p1', 'p2'], 'BACKUP')).status).toBe(200);
      }
      const bad = await stack.http.put(path, { deniedReasons: ['MIGRATION'], requireReason: 'yes' }, w.token);
      expect(bad.status).toBe(400);
      const events = await auditEvents(w.base, w.token);
      const changed = events.filter((e) => e.action === 'workspace.access_reason_policy_changed');
      expect(changed).toHaveLength(1);
      expect(changed[0].target).toBe(`workspace:${w.wsId}`);
      expect(changed[0].details).toEqual({
        from: { deniedReasons: [], requireReason: false },
        to: { deniedReasons: ['MIGRATION'], requireReason: true },
      });
    } finally {
      await replica2.close();
    }
  });

  it('commits a policy change and its audit record together: an audit write that fails leaves the policy and the allowed reasons unchanged', async () => {
    const w = await awsBoundWorkspace(stack);
    const sp = await w.principal();
    const ds = stack.api.services.ds;
    const fn = `fail_reason_audit_${w.tenant.id.replace(/-/g, '')}`;
    await ds.query(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.tenant_id = '${w.tenant.id}' AND NEW.action IN ('workspace.access_reason_policy_changed', 'service_principal.access_reasons_changed') THEN
          RAISE EXCEPTION 'injected audit failure';
        END IF;
        RETURN NEW;
      END $$`);
    await ds.query(`CREATE TRIGGER ${fn} BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
    try {
      const r = await stack.http.put(
        `${w.base}/workspaces/${w.wsId}/access-reason-policy`,
        { deniedReasons: ['BACKUP'], requireReason: true },
        w.token,
      );
      expect(r.status).toBeGreaterThanOrEqual(500);
      const p = await stack.http.put(
        `${w.base}/service-principals/${sp.id}/access-reasons`,
        { allowedReasons: ['EMERGENCY'] },
        w.token,
      );
      expect(p.status).toBeGreaterThanOrEqual(500);
    } finally {
      await ds.query(`DROP TRIGGER ${fn} ON audit_events`);
      await ds.query(`DROP FUNCTION ${fn}()`);
    }
    expect((await stack.http.get(`${w.base}/workspaces/${w.wsId}/access-reason-policy`, w.token)).body).toEqual({
      workspaceId: w.wsId,
      deniedReasons: [],
      requireReason: false,
    });
    expect((await fetchDek(stack.http, w.dekPath('t1'), w.svc, 'BACKUP')).status).toBe(200);
    expect(
      (await stack.http.get(`${w.base}/service-principals/${sp.id}/access-reasons`, w.token)).body.allowedReasons,
    ).toEqual(['CUSTOMER_INITIATED', 'SCHEDULED_JOB', 'BACKUP', 'MIGRATION']);
    expect((await fetchDek(stack.http, w.dekPath('t1'), sp.token, 'EMERGENCY')).body.error.code).toBe('REASON_DENIED');
    expect((await fetchDek(stack.http, w.dekPath('t1'), sp.token, 'BACKUP')).status).toBe(200);
  });

  it('aggregates use and refusals per (principal, workspace, reason, minute) into the audit log and reports key use by reason', async () => {
    const w = await awsBoundWorkspace(stack);
    const other = await w.principal();
    await stack.http.put(
      `${w.base}/workspaces/${w.wsId}/access-reason-policy`,
      { deniedReasons: ['EMERGENCY'], requireReason: false },
      w.token,
    );
    for (let i = 0; i < 5; i++)
      expect(
        (await fetchDek(stack.http, w.dekPath(`a${i % 2}`), w.svc, 'CUSTOMER_INITIATED', `INC-${i % 2}`)).status,
      ).toBe(200);
    for (let i = 0; i < 3; i++) expect((await fetchDek(stack.http, w.dekPath('a0'), w.svc)).status).toBe(200);
    expect((await batch(stack.http, w.batchPath, other.token, ['b1', 'b2', 'b3', 'b4'], 'BACKUP')).status).toBe(200);
    // a flood of refused requests: one record per reason and minute, not one per request
    for (let i = 0; i < 200; i++)
      expect((await fetchDek(stack.http, w.dekPath('a0'), w.svc, 'EMERGENCY')).status).toBe(403);
    // a workspace outside the principal's scope answers 404 as before (no reason is checked, nothing is audited)
    const w2 = await awsBoundWorkspace(stack);
    const foreign = await fetchDek(stack.http, `/internal/v1/workspaces/${w2.wsId}/segments/x/dek`, w.svc, 'EMERGENCY');
    expect(foreign.status).toBe(404);
    await flushUsage();

    const events = (await auditEvents(w.base, w.token)).filter(
      (e) => e.action === 'dek.issued' || e.action === 'dek.access_denied',
    );
    const minutes = new Set(events.map((e) => e.details.minute));
    const summary = (action: string, reason: string) =>
      events.filter((e) => e.action === action && e.details.reason === reason);
    const total = (action: string, reason: string) =>
      summary(action, reason).reduce((s, e) => s + Number(e.details.count), 0);
    expect(total('dek.issued', 'CUSTOMER_INITIATED')).toBe(5);
    expect(total('dek.issued', 'NONE')).toBe(3);
    expect(total('dek.issued', 'BACKUP')).toBe(4);
    expect(total('dek.access_denied', 'EMERGENCY')).toBe(200);
    // at most one record per (principal, reason, minute): the 200 refusals are one or two records (a minute boundary)
    expect(summary('dek.access_denied', 'EMERGENCY').length).toBeLessThanOrEqual(minutes.size);
    expect(
      summary('dek.access_denied', 'EMERGENCY').every(
        (e) => e.details.code === 'REASON_DENIED' && e.outcome === 'failure',
      ),
    ).toBe(true);
    expect(summary('dek.issued', 'BACKUP').every((e) => e.actor === `service:${other.id}`)).toBe(true);
    expect(
      [...new Set(summary('dek.issued', 'CUSTOMER_INITIATED').flatMap((e) => e.details.tickets as string[]))].sort(),
    ).toEqual(['INC-0', 'INC-1']);
    // the other workspace's log has nothing of this
    const w2Events = await auditEvents(w2.base, w2.token);
    expect(w2Events.filter((e) => e.action === 'dek.access_denied')).toHaveLength(0);
    // tickets go to the audit only, never to the logs
    expect(stack.logs()).not.toContain('INC-0');

    // the report: key use by reason for the workspace, by minute
    const report = await stack.http.get(`${w.base}/key-use?workspaceId=${w.wsId}&bucket=minute`, w.token);
    expect(report.status).toBe(200);
    expect(report.body.reasons).toEqual([
      'NONE',
      'CUSTOMER_INITIATED',
      'SCHEDULED_JOB',
      'BACKUP',
      'MIGRATION',
      'VENDOR_SUPPORT',
      'EMERGENCY',
    ]);
    const sum = (reason: string, k: 'issued' | 'denied') =>
      (report.body.points as Array<{ reason: string; issued: number; denied: number }>)
        .filter((p) => p.reason === reason)
        .reduce((s, p) => s + p[k], 0);
    expect(sum('CUSTOMER_INITIATED', 'issued')).toBe(5);
    expect(sum('NONE', 'issued')).toBe(3);
    expect(sum('BACKUP', 'issued')).toBe(4);
    expect(sum('EMERGENCY', 'denied')).toBe(200);
    for (const p of report.body.points) expect(p.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
    // tenant-wide, by hour (an auditor may read it)
    const auditor = await inviteUser(stack.url, w.token, w.tenant.id, {
      email: `aud2-${Date.now()}@example.com`,
      role: 'auditor',
    });
    const tenantWide = await stack.http.get(`${w.base}/key-use`, auditor.token);
    expect(tenantWide.status).toBe(200);
    expect(tenantWide.body.bucket).toBe('hour');
    expect((tenantWide.body.points as Array<{ issued: number }>).reduce((s, p) => s + p.issued, 0)).toBe(12);
    // bad queries are 400s; another tenant's workspace is 404
    for (const q of [
      'bucket=week',
      'from=yesterday',
      `from=${new Date().toISOString()}&to=${new Date(Date.now() - 1000).toISOString()}`,
      `bucket=minute&from=${new Date(Date.now() - 3 * 86_400_000).toISOString()}`,
      'limit=5',
    ]) {
      const r = await stack.http.get(`${w.base}/key-use?${q}`, w.token);
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await stack.http.get(`${w.base}/key-use?workspaceId=${w2.wsId}`, w.token)).status).toBe(404);
    expect((await stack.http.get(`${w2.base}/key-use`, w.token)).status).toBe(404);
  });
});
