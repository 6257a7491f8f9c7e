import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { AuditEvent } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { AuditVerificationPanel } from '../components/AuditVerificationPanel';
import { useConsole } from '../context';

const PAGE = 100;

interface Filters {
  action: string;
  actor: string;
  outcome: string;
  text: string;
}

/**
 * The tenant's audit log. Pages come from the API in sequence order (`after` = last seq seen, `next` = where
 * to continue); filters narrow the events loaded so far, and "Load more" follows `next`.
 */
export function AuditPage() {
  const { api } = useConsole();
  const [filters, setFilters] = useState<Filters>({ action: '', actor: '', outcome: '', text: '' });
  const log = useInfiniteQuery({
    queryKey: ['tenant', api.tenantId, 'audit', 'events'],
    queryFn: ({ pageParam }) => api.listAuditEvents(pageParam, PAGE),
    initialPageParam: 0,
    getNextPageParam: (page) => page.next ?? undefined,
  });
  const events: AuditEvent[] = useMemo(() => log.data?.pages.flatMap((p) => p.events) ?? [], [log.data]);

  const actions = useMemo(() => [...new Set(events.map((e) => e.action))].sort(), [events]);
  const outcomes = useMemo(() => [...new Set(events.map((e) => e.outcome))].sort(), [events]);
  const shown = useMemo(() => events.filter((e) => matches(e, filters)).reverse(), [events, filters]);
  const set = (k: keyof Filters) => (e: { target: { value: string } }) =>
    setFilters((f) => ({ ...f, [k]: e.target.value }));

  return (
    <section>
      <h1>Audit log</h1>
      <p className="lede">
        Every key operation, admin change and state transition for your tenant. Each entry carries the hash of the one
        before it and Keyhold's MAC, and Keyhold signs the chain's head at least every minute, so any change to history
        is detectable, offline too.
      </p>
      <AuditVerificationPanel />

      <form className="filters" role="search" aria-label="Filter audit events" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-action">Action</label>
          <select id="f-action" value={filters.action} onChange={set('action')}>
            <option value="">Any action</option>
            {actions.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-actor">Actor contains</label>
          <input id="f-actor" value={filters.actor} onChange={set('actor')} spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="f-outcome">Outcome</label>
          <select id="f-outcome" value={filters.outcome} onChange={set('outcome')}>
            <option value="">Any outcome</option>
            {outcomes.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="f-text">Text (target, details)</label>
          <input id="f-text" type="search" value={filters.text} onChange={set('text')} spellCheck={false} />
        </div>
      </form>

      <ErrorAlert error={log.error} title="Could not load audit events" />
      <p aria-live="polite" className="muted">
        {log.isPending
          ? 'Loading…'
          : `Showing ${shown.length} of ${events.length} loaded events, newest first${log.hasNextPage ? '; more are available' : ''}.`}
      </p>
      {shown.length > 0 && (
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
            {shown.map((e) => (
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
          {log.isFetchingNextPage ? 'Loading…' : 'Load older events'}
        </button>
      )}
    </section>
  );
}

function formatTime(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

function matches(e: AuditEvent, f: Filters): boolean {
  if (f.action && e.action !== f.action) return false;
  if (f.outcome && e.outcome !== f.outcome) return false;
  if (f.actor && !e.actor.toLowerCase().includes(f.actor.toLowerCase())) return false;
  if (f.text) {
    const hay = `${e.target} ${e.action} ${JSON.stringify(e.details ?? {})}`.toLowerCase();
    if (!hay.includes(f.text.toLowerCase())) return false;
  }
  return true;
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
