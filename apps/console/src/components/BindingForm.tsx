import { useEffect, useState, type SubmitEvent } from 'react';
import type { KeyConfiguration, Workspace } from '../api/types';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { ErrorAlert } from './Alert';
import { PROVIDER_NAMES } from './ProviderName';

/**
 * Bind (first time) or re-bind a workspace. A first binding provisions the KEK right away; a re-bind is a
 * re-key (the KEK is rewrapped under the new customer key, data keys unchanged) and runs as an operation.
 */
export function BindingForm({
  workspace,
  configs,
  onBound,
}: {
  workspace: Workspace;
  configs: KeyConfiguration[];
  onBound: (operationId?: string) => void;
}) {
  const { api } = useConsole();
  const choices = configs.filter((c) => c.id !== workspace.keyConfigurationId);
  const [choice, setChoice] = useState('');
  useEffect(() => {
    if (!choices.some((c) => c.id === choice))
      setChoice(choices.find((c) => c.status === 'valid')?.id ?? choices[0]?.id ?? '');
    // eslint-disable-next-line react-hooks/exhaustive-deps -- re-chooses when the list or the binding changes, not on each pick
  }, [configs, workspace.keyConfigurationId]);
  const rebind = !!workspace.keyConfigurationId;
  const bind = useAction(async () => {
    const r = await api.bindWorkspace(workspace.id, choice);
    onBound(r.operationId);
  });
  if (workspace.keyState === 'shredded' || workspace.keyState === 'destroyed') return null;

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void bind.run();
  }

  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby="bind-title">
      <h2 id="bind-title">{rebind ? 'Move to another key configuration' : 'Bind to a key configuration'}</h2>
      <p className="help">
        {rebind
          ? 'Re-keying rewraps this workspace’s KEK under the other customer key. Data keys keep being served and no data is re-encrypted.'
          : 'Keyhold creates this workspace’s KEK and wraps it with the customer key of the configuration you choose.'}
      </p>
      {choices.length === 0 ? (
        <p className="muted">
          No {rebind ? 'other ' : ''}key configuration to choose. <a href="#/keys/new">Register one</a>.
        </p>
      ) : (
        <>
          <div className="field">
            <label htmlFor="bind-config">Key configuration</label>
            <select id="bind-config" value={choice} onChange={(e) => setChoice(e.target.value)}>
              {choices.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name} — {PROVIDER_NAMES[c.provider] ?? c.provider}
                  {c.status === 'valid' ? '' : ' (not valid)'}
                </option>
              ))}
            </select>
          </div>
          <ErrorAlert
            error={bind.error}
            title={rebind ? 'The workspace was not re-bound' : 'The workspace was not bound'}
          />
          <button className="btn btn-primary" type="submit" disabled={bind.busy || !choice}>
            {bind.busy ? 'Working…' : rebind ? 'Re-key to this configuration' : 'Bind'}
          </button>
        </>
      )}
    </form>
  );
}
