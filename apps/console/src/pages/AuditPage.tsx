import { useInfiniteQuery } from '@tanstack/react-query';
import { SubmitEvent, useMemo, useState } from 'react';
import type { AuditEvent, AuditQuery } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { AuditVerificationPanel } from '../components/AuditVerificationPanel';
import { useConsole } from '../context';

const PAGE = 100;

/** What the form holds: text as typed (times as `datetime-local` values, in the browser's zone). */
interface Form {
  action: string;
  actor: string;
  workspaceId: string;
  from: string;
  to: string;
  order: 'desc' | 'asc';
}

const EMPTY: Form = { action: '', actor: '', workspaceId: '', from: '', to: '', order: 'desc' };

/** Prefixes offered as suggestions for the action field (any action or prefix ending with a dot is accepted). */
const ACTION_HINTS = [
  'dek.',
  'kms.',
  'workspace.',
  'key_configuration.',
  'service_principal.',
  'admin_user.',
  'tenant.',
];

/** The form as the API's query: a local time becomes an instant, empty fields are left out. */
function toQuery(f: Form): AuditQuery {
  const instant = (v: string) => (v ? new Date(v).toISOString() : undefined);
  return {
    action: f.action
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    actor: f.actor.trim() || undefined,
    workspaceId: f.workspaceId.trim() || undefined,
    from: instant(f.from),
    to: instant(f.to),
    order: f.order,
    limit: PAGE,
  };
}

/**
 * The tenant's audit log. The filters (action or action prefix, actor, workspace, time range, order) are applied by
 * the server when the form is submitted; "Load more" follows the page's `next` cursor with the same filters.
 */
export function AuditPage() {
  const { api } = useConsole();
  const [form, setForm] = useState<Form>(EMPTY);
  const [applied, setApplied] = useState<AuditQuery>(() => toQuery(EMPTY));
  const log = useInfiniteQuery({
    queryKey: ['tenant', api.tenantId, 'audit', 'events', applied],
    queryFn: ({ pageParam }) => api.listAuditEvents(applied, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next ?? undefined,
  });
  const events: AuditEvent[] = useMemo(() => log.data?.pages.flatMap((p) => p.events) ?? [], [log.data]);
  const set = (k: keyof Form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const submit = (e: SubmitEvent) => {
    e.preventDefault();
    setApplied(toQuery(form));
  };
  const reset = () => {
    setForm(EMPTY);
    setApplied(toQuery(EMPTY));
  };
  const filtered = Boolean(
    applied.action?.length || applied.actor || applied.workspaceId || applied.from || applied.to,
  );

  return (
    <section>
      <h1>Audit log</h1>
      <p className="lede">
        Every key operation, admin change and state transition for your tenant. Each entry carries the hash of the one
        before it and Keyhold's MAC, and Keyhold signs the chain's head at least every minute, so any change to history
        is detectable, offline too.
      </p>
      <AuditVerificationPanel />

      <form className="filters" role="search" aria-label="Filter audit events" onSubmit={submit}>
        <div className="field grow">
          <label htmlFor="f-action">Actions or prefixes (comma-separated)</label>
          <input
            id="f-action"
            list="f-action-hints"
            value={form.action}
            onChange={set('action')}
            spellCheck={false}
            placeholder="dek., workspace.created"
          />
          <datalist id="f-action-hints">
            {ACTION_HINTS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="f-actor">Actor</label>
          <input id="f-actor" value={form.actor} onChange={set('actor')} spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="f-workspace">Workspace ID</label>
          <input id="f-workspace" value={form.workspaceId} onChange={set('workspaceId')} spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="f-from">From</label>
          <input id="f-from" type="datetime-local" value={form.from} onChange={set('from')} />
        </div>
        <div className="field">
          <label htmlFor="f-to">To</label>
          <input id="f-to" type="datetime-local" value={form.to} onChange={set('to')} />
        </div>
        <div className="field">
          <label htmlFor="f-order">Order</label>
          <select id="f-order" value={form.order} onChange={set('order')}>
            <option value="desc">Newest first</option>
            <option value="asc">Oldest first</option>
          </select>
        </div>
        <div className="filter-buttons">
          <button type="submit" className="btn btn-primary">
            Apply filters
          </button>
          <button type="button" className="btn" onClick={reset}>
            Clear
          </button>
        </div>
      </form>

      <ErrorAlert error={log.error} title="Could not load audit events" />
      <p aria-live="polite" className="muted">
        {log.isPending
          ? 'Loading…'
          : `Showing ${events.length} ${filtered ? 'matching ' : ''}events, ${applied.order === 'asc' ? 'oldest' : 'newest'} first${log.hasNextPage ? '; more are available' : ''}.`}
      </p>
      {events.length > 0 && (
        <table className="audit">
          <caption className="visually-hidden">Audit events</caption>
          <colgroup>
            <col style={{ width: '3.5rem' }} />
            <col style={{ width: '12.5rem' }} />
            <col style={{ width: '10rem' }} />
            <col style={{ width: '13rem' }} />
            <col />
            <col style={{ width: '6.5rem' }} />
            <col style={{ width: '6.5rem' }} />
          </colgroup>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.seq}>
                <td>{e.seq}</td>
                <td className="nowrap">{formatTime(e.at)}</td>
                <td className="mono truncate" title={e.actor}>
                  {e.actor}
                </td>
                <td className="mono wrap">{e.action}</td>
                <td className="mono truncate" title={e.target}>
                  {e.target}
                </td>
                <td>
                  <span
                    className={`badge badge-${e.outcome === 'success' ? 'ok' : e.outcome === 'failure' || e.outcome === 'denied' ? 'bad' : 'neutral'}`}
                  >
                    {e.outcome}
                  </span>
                </td>
                <td>
                  <Details details={e.details} hash={e.hash} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {log.hasNextPage && (
        <button
          type="button"
          className="btn"
          onClick={() => void log.fetchNextPage()}
          disabled={log.isFetchingNextPage}
        >
          {log.isFetchingNextPage ? 'Loading…' : `Load ${applied.order === 'asc' ? 'newer' : 'older'} events`}
        </button>
      )}
    </section>
  );
}

function formatTime(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** Details as key/value pairs behind a disclosure (keeps rows one line high on a laptop). */
function Details({ details, hash }: { details: AuditEvent['details']; hash: string }) {
  const entries = Object.entries(details ?? {});
  return (
    <details>
      <summary>{entries.length ? `${entries.length} field${entries.length === 1 ? '' : 's'}` : 'Hash'}</summary>
      <dl className="kv">
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </div>
        ))}
        <div>
          <dt>hash</dt>
          <dd className="mono">{hash}</dd>
        </div>
      </dl>
    </details>
  );
}
