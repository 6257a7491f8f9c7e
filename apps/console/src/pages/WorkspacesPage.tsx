import { useState, type SubmitEvent } from 'react';
import { ErrorAlert, Notice } from '../components/Alert';
import { StateBadge } from '../components/StateBadge';
import { TextField } from '../components/TextField';
import { useConsole } from '../context';
import { useAction, useLoad } from '../hooks';
import { navigate } from '../router';

export function WorkspacesPage() {
  const { api, canWrite } = useConsole();
  const loaded = useLoad(() => Promise.all([api.listWorkspaces(), api.listKeyConfigurations()]), [api]);
  const [name, setName] = useState('');
  const create = useAction(async () => {
    const w = await api.createWorkspace(name.trim());
    setName('');
    navigate(`/workspaces/${encodeURIComponent(w.id)}`);
  });
  const [workspaces, configs] = loaded.data ?? [undefined, []];
  const configName = (id: string | null) => (id ? (configs.find((c) => c.id === id)?.name ?? id) : '—');
  const troubled = workspaces?.filter((w) => w.keyState === 'shredded' || w.keyState === 'access_suspect') ?? [];

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void create.run();
  }

  return (
    <section>
      <h1>Workspaces</h1>
      <p className="lede">Each workspace has its own key-encryption key (KEK), wrapped by the customer key of the configuration it is bound to.</p>
      <ErrorAlert error={loaded.error} title="Could not load workspaces" />
      {troubled.length > 0 && (
        <div className="alert alert-error" role="alert">
          {troubled.length === 1 ? '1 workspace has' : `${troubled.length} workspaces have`} lost access to the customer key. Open{' '}
          {troubled.map((w, i) => (
            <span key={w.id}>
              {i > 0 && ', '}
              <a href={`#/workspaces/${encodeURIComponent(w.id)}`}>{w.name}</a>
            </span>
          ))}{' '}
          for what happened and how to recover.
        </div>
      )}
      {loaded.loading && !workspaces && <p aria-live="polite">Loading…</p>}
      {workspaces && workspaces.length === 0 && <p className="empty">No workspaces yet.</p>}
      {workspaces && workspaces.length > 0 && (
        <table>
          <caption className="visually-hidden">Workspaces</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key state</th>
              <th scope="col">Key configuration</th>
              <th scope="col">KEK version</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            {workspaces.map((w) => (
              <tr key={w.id} className={w.keyState === 'shredded' ? 'row-bad' : undefined}>
                <td>
                  <a href={`#/workspaces/${encodeURIComponent(w.id)}`}>{w.name}</a>
                </td>
                <td>
                  <StateBadge state={w.keyState} />
                </td>
                <td>{configName(w.keyConfigurationId)}</td>
                <td>{w.kekVersion ?? '—'}</td>
                <td>{w.degraded ? <span className="badge badge-warn">Degraded</span> : <span className="muted">Normal</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canWrite && (
        <form className="inline-form card" onSubmit={submit} aria-labelledby="new-ws">
          <h2 id="new-ws">New workspace</h2>
          <TextField id="ws-name" label="Workspace name" value={name} onChange={setName} required />
          <ErrorAlert error={create.error} title="The workspace was not created" />
          <button className="btn btn-primary" type="submit" disabled={create.busy || !name.trim()}>
            {create.busy ? 'Creating…' : 'Create workspace'}
          </button>
        </form>
      )}
      {create.busy && <Notice>Creating the workspace…</Notice>}
    </section>
  );
}
