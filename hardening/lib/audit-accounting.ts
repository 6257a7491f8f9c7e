import type { Client } from 'pg';

/**
 * Audit events that should exist and do not: every operation row has its `operation.requested` record, every
 * operation that succeeded has the record of the change it made, and every workspace that left `unbound` has its
 * `workspace.bound` record. Each action commits with its record, so under any fault the answer must be 0.
 */
const DONE_ACTION: Record<string, string> = {
  'kek-rotation': 'workspace.kek_rotated',
  'cmk-rewrap': 'workspace.cmk_rewrapped',
  rekey: 'workspace.rekeyed',
  reinstate: 'workspace.reinstated',
};

export async function lostAuditEvents(
  pg: Pick<Client, 'query'>,
  tenantIds?: string[],
): Promise<{ checked: number; lost: number; details: string[] }> {
  const scope = tenantIds ? `AND o.tenant_id = ANY($1)` : '';
  const params = tenantIds ? [tenantIds] : [];
  const ops = (
    await pg.query(
      `SELECT o.id, o.kind, o.state,
         EXISTS (SELECT 1 FROM audit_events e WHERE e.tenant_id = o.tenant_id AND e.action = 'operation.requested' AND e.details->>'operationId' = o.id::text) AS requested,
         (SELECT array_agg(e.action) FROM audit_events e WHERE e.tenant_id = o.tenant_id AND e.details->>'operationId' = o.id::text) AS actions
       FROM operations o WHERE true ${scope}`,
      params,
    )
  ).rows as Array<{ id: string; kind: string; state: string; requested: boolean; actions: string[] | null }>;
  const wsScope = tenantIds ? `AND w.tenant_id = ANY($1)` : '';
  const bound = (
    await pg.query(
      `SELECT w.id, EXISTS (SELECT 1 FROM audit_events e WHERE e.tenant_id = w.tenant_id AND e.action = 'workspace.bound' AND e.outcome = 'success'
                              AND e.target = 'workspace:' || w.id::text) AS audited
       FROM workspaces w WHERE w.key_state <> 'unbound' AND w.key_state <> 'provisioning' ${wsScope}`,
      params,
    )
  ).rows as Array<{ id: string; audited: boolean }>;
  const details: string[] = [];
  let checked = 0;
  for (const o of ops) {
    checked++;
    if (!o.requested) details.push(`operation ${o.kind} ${o.id}: no operation.requested record`);
    const done = DONE_ACTION[o.kind];
    if (done && o.state === 'succeeded') {
      checked++;
      if (!(o.actions ?? []).includes(done))
        details.push(`operation ${o.kind} ${o.id} succeeded with no ${done} record`);
    }
  }
  for (const w of bound) if (!w.audited) details.push(`workspace ${w.id} is bound with no workspace.bound record`);
  return { checked: checked + bound.length, lost: details.length, details };
}
