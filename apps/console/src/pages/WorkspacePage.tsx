import { useEffect, useState } from 'react';
import type { KeyState, Operation, OperationKind } from '../api/types';
import { ErrorAlert, Notice } from '../components/Alert';
import { OperationCard } from '../components/OperationCard';
import { OperationHistory } from '../components/OperationHistory';
import { KeyUseChart } from '../components/KeyUseChart';
import { ReasonPolicyPanel } from '../components/ReasonPolicyPanel';
import { KeyLossBanner } from '../components/ShreddedBanner';
import { StateBadge } from '../components/StateBadge';
import { CopyButton } from '../components/CopyButton';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { useKeyConfigurations, useTenantQuery } from '../api/queries';
import { BindingForm } from '../components/BindingForm';
import { DestroyedBanner, DestroyWorkspace } from '../components/DestroyWorkspace';
import { trackedOperations, trackOperation } from '../operations-store';

const BUSY_STATES: KeyState[] = ['provisioning', 'rewrapping', 'rekeying', 'kek_rotating', 'access_suspect'];

const ACTIONS: Array<{ kind: OperationKind; label: string; help: string }> = [
  {
    kind: 'kek-rotation',
    label: 'Rotate KEK',
    help: 'New KEK version; every data key is rewrapped in batches while data keys keep being served.',
  },
  {
    kind: 'cmk-rewrap',
    label: 'Rewrap under current CMK',
    help: 'After you rotate your cloud key: rewrap the KEK under its current version. No data keys change.',
  },
  {
    kind: 'revocation-check',
    label: 'Check access now',
    help: 'You changed access to your key: check now instead of waiting for the next scheduled probe.',
  },
];

/** One workspace: state, binding, operations with live progress, and the key-loss banner when it applies. */
export function WorkspacePage({ id }: { id: string }) {
  const { api, canWrite } = useConsole();
  // Kept current while something is in flight (ours or the scheduler's).
  const ws = useTenantQuery(['workspaces', id], (a) => a.getWorkspace(id), {
    refetchInterval: (w) => (w && BUSY_STATES.includes(w.keyState) ? 2000 : false),
  });
  const configs = useKeyConfigurations();
  const [ops, setOps] = useState<string[]>(() => trackedOperations(id));
  useEffect(() => setOps(trackedOperations(id)), [id]);

  const w = ws.data;

  const start = useAction(async (kind: OperationKind) => {
    const { operationId } = await api.startOperation(id, kind);
    setOps(trackOperation(id, operationId));
    ws.reload();
  });

  const destroy = useAction(async (confirm: string) => {
    await api.destroyWorkspace(id, confirm);
    ws.reload();
  });

  function onBound(operationId?: string) {
    if (operationId) setOps(trackOperation(id, operationId));
    ws.reload();
  }

  // Bumped when an operation starts or finishes: the history reloads its first page.
  const [historyKey, setHistoryKey] = useState(0);
  function onFinished(_op: Operation) {
    ws.reload();
    setHistoryKey((k) => k + 1);
  }

  if (ws.error && !w) return <ErrorAlert error={ws.error} title="Could not load this workspace" />;
  if (!w) return <p aria-live="polite">Loading…</p>;
  const boundTo = configs.data?.find((c) => c.id === w.keyConfigurationId);
  const keyLost = w.keyState === 'shredded' || w.keyState === 'access_suspect';

  return (
    <section>
      <p className="crumbs">
        <a href="#/workspaces">Workspaces</a> <span aria-hidden="true">›</span>
      </p>
      <h1>{w.name}</h1>
      <KeyLossBanner
        workspace={w}
        canWrite={canWrite}
        busy={start.busy}
        onReinstate={() => void start.run('reinstate')}
      />
      <DestroyedBanner workspace={w} />
      <dl className="facts">
        <div className="value-row">
          <dt>Key state</dt>
          <dd aria-live="polite">
            <StateBadge state={w.keyState} />
          </dd>
        </div>
        <div className="value-row">
          <dt>Key configuration</dt>
          <dd>
            {w.keyConfigurationId ? (
              <a href={`#/keys/${encodeURIComponent(w.keyConfigurationId)}`}>{boundTo?.name ?? w.keyConfigurationId}</a>
            ) : (
              'Not bound'
            )}
          </dd>
        </div>
        <div className="value-row">
          <dt>KEK version</dt>
          <dd>{w.kekVersion ?? '—'}</dd>
        </div>
        <div className="value-row">
          <dt>Health</dt>
          <dd>
            {w.degraded ? (
              <span>
                <span className="badge badge-warn">Degraded</span> Keyhold could not reach the cloud key service
                recently and is serving from its short-lived cache. This is not a revocation; nothing is shredded for
                outages.
              </span>
            ) : (
              'Normal'
            )}
          </dd>
        </div>
        <div className="value-row">
          <dt>Workspace id</dt>
          <dd>
            <code className="value">{w.id}</code> <CopyButton value={w.id} label="workspace id" />
          </dd>
        </div>
      </dl>

      {ops.length > 0 && (
        <section aria-labelledby="recent-ops">
          <h2 id="recent-ops">Operations</h2>
          <ul className="ops">
            {ops.slice(0, 3).map((opId) => (
              <OperationCard
                key={opId}
                api={api}
                operationId={opId}
                onFinished={onFinished}
                configName={(cid) => configs.data?.find((c) => c.id === cid)?.name}
              />
            ))}
          </ul>
          <p className="muted small">
            Live progress of the operations started from this browser session; the full history is below.
          </p>
        </section>
      )}

      {canWrite && w.keyConfigurationId && !keyLost && (
        <section aria-labelledby="ops-title">
          <h2 id="ops-title">Key operations</h2>
          <ErrorAlert error={start.error} title="The operation was not started" />
          <ul className="op-actions">
            {ACTIONS.map((a) => (
              <li key={a.kind}>
                <button type="button" className="btn" onClick={() => void start.run(a.kind)} disabled={start.busy}>
                  {a.label}
                </button>
                <span className="help">{a.help}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {keyLost && <ErrorAlert error={start.error} title="The operation was not started" />}
      {start.busy && <Notice>Requesting the operation…</Notice>}

      <OperationHistory
        api={api}
        workspaceId={id}
        refreshKey={`${historyKey}-${ops.length}`}
        configName={(cid) => configs.data?.find((c) => c.id === cid)?.name}
      />
      <KeyUseChart api={api} workspaceId={id} />
      <ReasonPolicyPanel api={api} workspaceId={id} canWrite={canWrite} />

      {canWrite && <BindingForm workspace={w} configs={configs.data ?? []} onBound={onBound} />}
      {canWrite && (
        <DestroyWorkspace
          workspace={w}
          busy={destroy.busy}
          error={destroy.error}
          onDestroy={(confirm) => void destroy.run(confirm)}
        />
      )}
    </section>
  );
}
