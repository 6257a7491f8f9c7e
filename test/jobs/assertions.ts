import { OperationKind } from '@app/jobs';
import type { JobsHarness, OperationView } from './harness';

/** What every cloud's tenant factory returns that these helpers need. */
export interface ProbedTenant {
  tenantId: string;
  principalId: string;
  workspaceIds: string[];
}

/** Requests a revocation check for one workspace and waits for it to finish. */
export async function checkUntilDone(
  h: JobsHarness,
  t: ProbedTenant,
  workspaceId = t.workspaceIds[0],
  timeoutMs = 20_000,
): Promise<OperationView> {
  const opId = await h.request(t.tenantId, workspaceId, OperationKind.RevocationCheck);
  return h.waitForOperation(t.tenantId, opId, timeoutMs);
}

/** Requests a reinstate and waits for it to finish (succeeded or failed). */
export async function reinstate(
  h: JobsHarness,
  t: ProbedTenant,
  workspaceId = t.workspaceIds[0],
): Promise<OperationView> {
  return h.waitForOperation(t.tenantId, await h.request(t.tenantId, workspaceId, OperationKind.Reinstate));
}

/**
 * Requests a revocation check on a revoked key and asserts the whole policy: `access_suspect` first (every bound
 * workspace), `shredded` only after the confirmation window and at least the configured number of probes, then DEK
 * requests refused with WORKSPACE_SHREDDED and both transitions in the tenant's audit log.
 */
export async function expectShredded(
  h: JobsHarness,
  t: ProbedTenant,
  opts: { reason?: RegExp; observeSuspect?: boolean } = {},
): Promise<OperationView> {
  const started = Date.now();
  const opId = await h.request(t.tenantId, t.workspaceIds[0], OperationKind.RevocationCheck);
  if (opts.observeSuspect ?? true) {
    const suspect = await h.waitForOperation(
      t.tenantId,
      opId,
      10_000,
      (o) => o.state === 'running' && String(o.step).startsWith('probe:'),
    );
    expect(suspect.step).toBe('probe:suspect');
    for (const ws of t.workspaceIds) expect((await h.workspace(t.tenantId, ws)).keyState).toBe('access_suspect');
  }
  const op = await h.waitForOperation(t.tenantId, opId, 20_000);
  expect(op.state).toBe('succeeded');
  expect(op.params.result).toMatchObject({ outcome: 'shredded' });
  if (opts.reason) expect(String(op.params.lastReason)).toMatch(opts.reason);
  // Never before the confirmation window has passed, and never on fewer than the configured confirmations.
  expect(Date.now() - started).toBeGreaterThanOrEqual(h.config.probe.confirmationWindowSeconds * 1000);
  expect(Number(op.params.probes)).toBeGreaterThanOrEqual(h.config.probe.confirmations);
  for (const ws of t.workspaceIds) expect((await h.workspace(t.tenantId, ws)).keyState).toBe('shredded');
  await expect(h.fetchDeks(t, t.workspaceIds[0], ['after-shred'])).rejects.toMatchObject({
    code: 'WORKSPACE_SHREDDED',
  });
  const audit = await h.ds.query(
    `SELECT action FROM audit_events WHERE tenant_id = $1 AND action LIKE 'workspace.%' ORDER BY seq`,
    [t.tenantId],
  );
  expect(audit.map((a: { action: string }) => a.action)).toEqual(
    expect.arrayContaining(['workspace.access_suspect', 'workspace.shredded']),
  );
  return op;
}

/** Polls `fn` until it returns something truthy (100 ms apart), or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * After transient faults: every workspace of the tenants still `active` but flagged `degraded`, none suspect or
 * shredded, no definitive result counted towards a shred, no shred in the audit log.
 */
export async function expectDegradedNeverShredded(
  h: JobsHarness,
  tenants: ProbedTenant[],
  degraded: ProbedTenant[] = tenants,
): Promise<void> {
  for (const t of degraded) {
    for (const ws of t.workspaceIds)
      expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: true });
  }
  const ids = tenants.map((t) => t.tenantId);
  const bad = await h.ds.query(
    `SELECT count(*)::int AS n FROM workspaces WHERE tenant_id = ANY($1) AND key_state IN ('shredded', 'access_suspect')`,
    [ids],
  );
  expect(bad[0].n).toBe(0);
  const counted = await h.ds.query(
    `SELECT max(consecutive_definitive)::int AS n FROM key_configuration_access WHERE tenant_id = ANY($1)`,
    [ids],
  );
  expect(counted[0].n).toBe(0);
  const audit = await h.ds.query(
    `SELECT count(*)::int AS n FROM audit_events WHERE tenant_id = ANY($1) AND action = 'workspace.shredded'`,
    [ids],
  );
  expect(audit[0].n).toBe(0);
}

/** Faults gone: the next revocation check finds every key healthy and clears the degraded flag. */
export async function expectRecovered(h: JobsHarness, tenants: ProbedTenant[]): Promise<void> {
  for (const t of tenants) {
    const op = await checkUntilDone(h, t);
    expect(op.params.result).toMatchObject({ outcome: 'active' });
    for (const ws of t.workspaceIds)
      expect(await h.workspace(t.tenantId, ws)).toMatchObject({ keyState: 'active', degraded: false });
  }
}
