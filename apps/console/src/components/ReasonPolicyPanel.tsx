import { useEffect, useId, useState, type SubmitEvent } from 'react';
import type { ApiClient } from '../api/client';
import { ACCESS_REASONS, type AccessReason } from '../api/types';
import { useTenantQuery } from '../api/queries';
import { useAction } from '../hooks';
import { ErrorAlert } from './Alert';
import { REASON_HELP, REASON_LABELS } from './access-reasons';

/**
 * A workspace's access-reason policy: the reasons it refuses (403 REASON_DENIED whatever the service principal is
 * allowed) and whether every DEK request must give one (403 REASON_REQUIRED). Key admins change it (audited);
 * auditors read it.
 */
export function ReasonPolicyPanel({
  api,
  workspaceId,
  canWrite,
}: {
  api: ApiClient;
  workspaceId: string;
  canWrite: boolean;
}) {
  const policy = useTenantQuery(['workspaces', workspaceId, 'access-reason-policy'], () =>
    api.getWorkspaceReasonPolicy(workspaceId),
  );
  const [denied, setDenied] = useState<AccessReason[]>([]);
  const [required, setRequired] = useState(false);
  const [saved, setSaved] = useState(false);
  const id = useId();
  useEffect(() => {
    if (!policy.data) return;
    setDenied(policy.data.deniedReasons);
    setRequired(policy.data.requireReason);
  }, [policy.data]);
  const save = useAction(async () => {
    await api.setWorkspaceReasonPolicy(workspaceId, { deniedReasons: denied, requireReason: required });
    setSaved(true);
    policy.reload();
  });
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    setSaved(false);
    void save.run();
  };
  const toggle = (r: AccessReason) => setDenied((d) => (d.includes(r) ? d.filter((x) => x !== r) : [...d, r]));
  const p = policy.data;
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Access reasons</h2>
      <p className="help">
        Services say why they ask for a data key. Refuse reasons this workspace must never be opened for, or require a
        reason on every request.
      </p>
      <ErrorAlert error={policy.error} title="Could not load the access-reason policy" />
      {p && !canWrite && (
        <p>
          {p.requireReason ? 'Every request must give a reason.' : 'A reason is optional.'}{' '}
          {p.deniedReasons.length
            ? `Refused: ${p.deniedReasons.map((r) => REASON_LABELS[r]).join(', ')}.`
            : 'No reason is refused.'}
        </p>
      )}
      {p && canWrite && (
        <form onSubmit={submit}>
          <fieldset>
            <legend>Refuse data keys requested for</legend>
            <ul className="checklist">
              {ACCESS_REASONS.map((r) => (
                <li key={r}>
                  <label>
                    <input type="checkbox" checked={denied.includes(r)} onChange={() => toggle(r)} /> {REASON_LABELS[r]}{' '}
                    <span className="muted small">({REASON_HELP[r]})</span>
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          <label className="checkbox-line">
            <input type="checkbox" checked={required} onChange={(e) => setRequired(e.target.checked)} /> Require a
            reason on every data key request
          </label>
          <ErrorAlert error={save.error} title="The policy was not saved" />
          <button type="submit" className="btn" disabled={save.busy}>
            {save.busy ? 'Saving…' : 'Save access-reason policy'}
          </button>
          {saved && !save.busy && (
            <p role="status" className="ok-text">
              Saved. Every API replica applies it at once.
            </p>
          )}
        </form>
      )}
    </section>
  );
}

/**
 * The reasons one service principal may give (by default all but the vendor's support staff and emergency
 * access, which a key admin grants explicitly). Shown in the service principal panel.
 */
export function PrincipalReasonsField({
  api,
  principalId,
  name,
  canWrite,
}: {
  api: ApiClient;
  principalId: string;
  name: string;
  canWrite: boolean;
}) {
  const reasons = useTenantQuery(['service-principals', principalId, 'access-reasons'], () =>
    api.getPrincipalReasons(principalId),
  );
  const [allowed, setAllowed] = useState<AccessReason[]>([]);
  useEffect(() => {
    if (reasons.data) setAllowed(reasons.data.allowedReasons);
  }, [reasons.data]);
  const save = useAction(async () => {
    await api.setPrincipalReasons(principalId, allowed);
    reasons.reload();
  });
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    void save.run();
  };
  const toggle = (r: AccessReason) => setAllowed((a) => (a.includes(r) ? a.filter((x) => x !== r) : [...a, r]));
  return (
    <>
      <h3>Access reasons</h3>
      <ErrorAlert error={reasons.error} title="Could not load the allowed reasons" />
      {reasons.data && !canWrite && (
        <p>
          {reasons.data.allowedReasons.map((r) => REASON_LABELS[r]).join(', ') ||
            'No reason: only requests without one.'}
        </p>
      )}
      {reasons.data && canWrite && (
        <form onSubmit={submit}>
          <fieldset>
            <legend>Reasons {name} may give for a data key</legend>
            <ul className="checklist">
              {ACCESS_REASONS.map((r) => (
                <li key={r}>
                  <label>
                    <input type="checkbox" checked={allowed.includes(r)} onChange={() => toggle(r)} />{' '}
                    {REASON_LABELS[r]}
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          <ErrorAlert error={save.error} title="The allowed reasons were not saved" />
          <button type="submit" className="btn" disabled={save.busy}>
            Save allowed reasons
          </button>
        </form>
      )}
    </>
  );
}
