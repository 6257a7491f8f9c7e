import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { ApiClient } from '../api/client';
import type { BulkItem, BulkOperation } from '../api/types';
import { ErrorAlert } from './Alert';
import { ProgressBar } from './ProgressBar';

const ACTION: Record<BulkOperation['action'], string> = { bind: 'Bind', rekey: 'Re-key', rewrap: 'Rewrap' };

function itemInWords(i: BulkItem, action: BulkOperation['action']): string {
  if (i.state === 'succeeded') return action === 'rewrap' ? 'Rewrapped' : action === 'rekey' ? 'Re-keyed' : 'Bound';
  if (i.state === 'failed') return `Failed: ${i.error?.message ?? 'unknown error'}`;
  if (i.state === 'running') return i.operationId ? 'Running (operation in progress)' : 'Running';
  return 'Waiting';
}

/** A bulk operation's progress and each workspace's outcome, polled until every workspace has ended. */
export function BulkResult({
  api,
  initial,
  onDismiss,
  onFinished,
}: {
  api: ApiClient;
  initial: BulkOperation;
  onDismiss: () => void;
  onFinished?: () => void;
}) {
  const q = useQuery({
    queryKey: ['tenant', api.tenantId, 'bulk-operations', initial.id],
    queryFn: () => api.getBulkOperation(initial.id),
    initialData: initial,
    refetchInterval: (query) => (query.state.data?.state === 'running' ? 1000 : false),
  });
  const b = q.data;
  const finished = b.state !== 'running';
  useEffect(() => {
    if (finished) onFinished?.();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- fires when the bulk operation finishes, not when the parent re-renders with a new callback
  }, [finished]);
  const { counts } = b;
  return (
    <section className="card bulk-result" aria-labelledby={`bulk-${b.id}`}>
      <h2 id={`bulk-${b.id}`}>
        {ACTION[b.action]} of {b.progress.total} workspace{b.progress.total === 1 ? '' : 's'}:{' '}
        {b.state === 'running' ? 'in progress' : b.state === 'succeeded' ? 'done' : 'done with failures'}
      </h2>
      <ProgressBar done={b.progress.done} total={b.progress.total} label={`${ACTION[b.action]} progress`} />
      <p aria-live="polite">
        {counts.succeeded} succeeded, {counts.failed} failed, {counts.running + counts.pending} in progress.
      </p>
      <ErrorAlert error={q.error} title="Could not refresh the bulk operation" />
      <table>
        <caption className="visually-hidden">Result per workspace</caption>
        <thead>
          <tr>
            <th scope="col">Workspace</th>
            <th scope="col">Result</th>
          </tr>
        </thead>
        <tbody>
          {b.items.map((i) => (
            <tr key={i.workspaceId} className={i.state === 'failed' ? 'row-bad' : undefined} data-state={i.state}>
              <td>
                {i.workspaceName ? (
                  <a href={`#/workspaces/${encodeURIComponent(i.workspaceId)}`}>{i.workspaceName}</a>
                ) : (
                  <code>{i.workspaceId}</code>
                )}
              </td>
              <td>{itemInWords(i, b.action)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="btn" onClick={onDismiss}>
        Close results
      </button>
    </section>
  );
}
