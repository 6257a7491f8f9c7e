import { useEffect, useState } from 'react';
import type { ApiClient } from '../api/client';
import type { Operation } from '../api/types';
import { ErrorAlert } from './Alert';
import { ProgressBar } from './ProgressBar';
import { useInterval } from '../hooks';

export const OPERATION_LABELS: Record<string, string> = {
  'cmk-rewrap': 'CMK rewrap',
  'kek-rotation': 'KEK rotation',
  'revocation-check': 'Revocation check',
  reinstate: 'Reinstate',
  rekey: 'Re-key to another configuration',
};

const STATE_WORDS: Record<Operation['state'], string> = {
  queued: 'Queued — waiting for a worker',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
};

const POLL_MS = 1000;

/** One operation, polled until it succeeds or fails; progress in a bar and in words (aria-live). */
export function OperationCard({ api, operationId, onFinished }: { api: ApiClient; operationId: string; onFinished: (op: Operation) => void }) {
  const [op, setOp] = useState<Operation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const finished = op?.state === 'succeeded' || op?.state === 'failed';

  const poll = () =>
    api.getOperation(operationId).then(
      (o) => {
        setOp(o);
        setError(null);
        if (o.state === 'succeeded' || o.state === 'failed') onFinished(o);
      },
      (e: unknown) => setError(e),
    );
  useEffect(() => {
    void poll();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [operationId]);
  useInterval(() => void poll(), POLL_MS, !finished);

  const label = OPERATION_LABELS[op?.kind ?? ''] ?? op?.kind ?? 'Operation';
  const done = op?.progress?.done ?? 0;
  // A finished operation with nothing to count (total 0) still shows a full bar: it is complete.
  const total = op?.progress?.total ?? 0;
  const shownTotal = op?.state === 'succeeded' && total === 0 ? 1 : total;
  const shownDone = op?.state === 'succeeded' && total === 0 ? 1 : done;
  return (
    <li className={`op op-${op?.state ?? 'loading'}`} data-operation-id={operationId}>
      <div className="op-head">
        <strong>{label}</strong>
        <span className="op-state" aria-live="polite">
          {op ? STATE_WORDS[op.state] ?? op.state : 'Loading…'}
          {op?.step && op.state === 'running' ? ` · ${op.step}` : ''}
        </span>
      </div>
      <ProgressBar done={shownDone} total={shownTotal} label={`${label} progress`} />
      {op?.state === 'failed' && (
        <p className="op-error" role="alert">
          {describeError(op.error)}
        </p>
      )}
      <ErrorAlert error={error} title="Could not read the operation’s progress (retrying)" />
      <p className="muted small mono">{operationId}</p>
    </li>
  );
}

function describeError(e: Operation['error']): string {
  if (!e) return 'The operation failed without a reason.';
  if (typeof e === 'string') return e;
  return e.message ?? e.code ?? 'The operation failed.';
}
