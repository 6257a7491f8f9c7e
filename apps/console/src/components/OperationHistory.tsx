import { useInfiniteQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import type { ApiClient } from '../api/client';
import type { OperationHistoryEntry } from '../api/types';
import { ErrorAlert } from './Alert';
import { describeError, OPERATION_LABELS, OperationResult } from './OperationCard';

const STATE_BADGE: Record<string, [string, string]> = {
  queued: ['badge-neutral', 'Queued'],
  running: ['badge-busy', 'Running'],
  succeeded: ['badge-ok', 'Succeeded'],
  failed: ['badge-bad', 'Failed'],
};

/**
 * The workspace's operations as the server recorded them (every rotation, rewrap, re-key, probe and reinstate,
 * whoever or whatever started it), newest first, filterable by kind and state, ten at a time with "Show older";
 * each finished one says what it did in words. `refreshKey` reloads the first page (a new operation started).
 */
export function OperationHistory({
  api,
  workspaceId,
  refreshKey,
  configName,
}: {
  api: ApiClient;
  workspaceId: string;
  refreshKey: unknown;
  configName: (id: string) => string | undefined;
}) {
  const [kind, setKind] = useState('');
  const [state, setState] = useState('');
  const history = useInfiniteQuery({
    queryKey: ['tenant', api.tenantId, 'workspaces', workspaceId, 'operations', kind, state, String(refreshKey)],
    queryFn: ({ pageParam }) => api.listWorkspaceOperations(workspaceId, { kind, state, cursor: pageParam }),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next,
  });
  const rows: OperationHistoryEntry[] = useMemo(
    () => history.data?.pages.flatMap((p) => p.operations) ?? [],
    [history.data],
  );
  const loading = history.isFetching;
  const error = history.error;

  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">Operations history</h2>
      <div className="filters inline-form">
        <div className="field">
          <label htmlFor="history-kind">Kind</label>
          <select id="history-kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">All kinds</option>
            {Object.entries(OPERATION_LABELS).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="history-state">State</label>
          <select id="history-state" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">All states</option>
            <option value="queued,running">Unfinished</option>
            <option value="succeeded">Succeeded</option>
            <option value="failed">Failed</option>
          </select>
        </div>
      </div>
      <ErrorAlert error={error} title="Could not load the operations history" />
      {!loading && rows.length === 0 && !error && (
        <p className="empty">No operations {kind || state ? 'match these filters' : 'yet'}.</p>
      )}
      {rows.length > 0 && (
        <table className="history">
          <caption className="visually-hidden">Operations on this workspace, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Operation</th>
              <th scope="col">State</th>
              <th scope="col">Requested</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((o) => {
              const [cls, word] = STATE_BADGE[o.state] ?? ['badge-neutral', o.state];
              return (
                <tr key={o.id} data-history-id={o.id}>
                  <th scope="row">{OPERATION_LABELS[o.kind] ?? o.kind}</th>
                  <td>
                    <span className={`badge ${cls}`}>{word}</span>
                  </td>
                  <td className="nowrap">
                    {o.createdAt && <time dateTime={o.createdAt}>{formatDate(o.createdAt)}</time>}
                    <br />
                    <span className="muted small">{describeRequester(o.requestedBy)}</span>
                  </td>
                  <td>
                    {o.state === 'succeeded' && (OperationResult({ op: o, configName }) ?? <span>Done.</span>)}
                    {o.state === 'failed' && <span>{describeError(o.error)}</span>}
                    {(o.state === 'queued' || o.state === 'running') && (
                      <span>
                        {o.progress.total > 0 ? `${o.progress.done} of ${o.progress.total} done` : 'In progress'}
                        {o.step ? ` · ${o.step}` : ''}
                      </span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {loading && <p aria-live="polite">Loading…</p>}
      {history.hasNextPage && !loading && (
        <button type="button" className="btn" onClick={() => void history.fetchNextPage()}>
          Show older operations
        </button>
      )}
    </section>
  );
}

function describeRequester(by: string | null): string {
  if (!by || by.startsWith('system:')) return 'started automatically by Keyhold';
  if (by.startsWith('admin:')) return 'requested by a key admin';
  if (by === 'operator') return 'requested by the Keyhold operator';
  return `requested by ${by}`;
}

function formatDate(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
