import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, type ReactNode } from 'react';
import type { ApiClient } from '../api/client';
import type { Operation } from '../api/types';
import { ErrorAlert } from './Alert';
import { ProgressBar } from './ProgressBar';

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

/**
 * One operation, polled until it succeeds or fails; progress in a bar and in words (aria-live), and once it
 * succeeded what it did, in words. `configName` turns a key configuration id into its name (re-key results).
 */
export function OperationCard({
  api,
  operationId,
  onFinished,
  configName = () => undefined,
}: {
  api: ApiClient;
  operationId: string;
  onFinished: (op: Operation) => void;
  configName?: (id: string) => string | undefined;
}) {
  // Polled until it finishes; the page hears of the end once.
  const q = useQuery({
    queryKey: ['tenant', api.tenantId, 'operations', operationId],
    queryFn: () => api.getOperation(operationId),
    refetchInterval: (query) => (isFinished(query.state.data) ? false : POLL_MS),
  });
  const op = q.data ?? null;
  const error = q.error;
  const reported = useRef(false);
  useEffect(() => {
    if (op && isFinished(op) && !reported.current) {
      reported.current = true;
      onFinished(op);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reported once when the operation finishes; the parent's callback identity changes every render
  }, [op]);

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
          {op ? (STATE_WORDS[op.state] ?? op.state) : 'Loading…'}
          {op?.step && op.state === 'running' ? ` · ${op.step}` : ''}
        </span>
      </div>
      <ProgressBar done={shownDone} total={shownTotal} label={`${label} progress`} />
      <div aria-live="polite">{op?.state === 'succeeded' && <OperationResult op={op} configName={configName} />}</div>
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

/** What a succeeded operation did, in words; nothing when the API reported no result. */
export function OperationResult({ op, configName }: { op: Operation; configName: (id: string) => string | undefined }) {
  const r = op.result;
  if (!r || typeof r !== 'object') return null;
  const versions = numbers(r.kekVersions);
  const kekList = (v: number[]) => `KEK version${v.length === 1 ? '' : 's'} ${v.join(', ')}`;
  let text: ReactNode = null;
  switch (op.kind) {
    case 'cmk-rewrap': {
      const keyVersion = typeof r.keyVersion === 'string' && r.keyVersion ? r.keyVersion : null;
      const under = keyVersion ? (
        <>
          customer key version <code className="value">{keyVersion}</code>
        </>
      ) : (
        'the customer key’s current version'
      );
      text = versions.length ? (
        <>
          Rewrapped {kekList(versions)} under {under}.
        </>
      ) : (
        <>Nothing to rewrap: every KEK version was already under {under}.</>
      );
      break;
    }
    case 'rekey': {
      const id = typeof r.keyConfigurationId === 'string' ? r.keyConfigurationId : '';
      const name = `“${configName(id) ?? id}”`;
      text = versions.length
        ? `Moved ${kekList(versions)} to ${name}.`
        : `Every KEK version was already under ${name}.`;
      break;
    }
    case 'kek-rotation':
      if (typeof r.kekVersion === 'number') {
        const retired = numbers(r.retiredVersions);
        text = `KEK version ${r.kekVersion} is current${retired.length ? `; retired ${kekList(retired)}` : ''}.`;
      }
      break;
    case 'revocation-check':
      if (r.outcome === 'active') text = 'Keyhold can use the customer key: access confirmed.';
      else if (r.outcome === 'shredded') text = 'Keyhold lost access to the customer key: the workspace is shredded.';
      else if (r.outcome === 'inconclusive')
        text = 'Inconclusive: the cloud could not be reached. Scheduled checks carry on; nothing was shredded.';
      break;
    case 'reinstate':
      if (r.outcome === 'active')
        text = r.alreadyActive ? 'The workspace was already active.' : 'The workspace is active again.';
      break;
  }
  return text ? <p className="op-result">{text}</p> : null;
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

const isFinished = (op: Operation | undefined): boolean => op?.state === 'succeeded' || op?.state === 'failed';

export function describeError(e: Operation['error']): string {
  return e || 'The operation failed without a reason.';
}
