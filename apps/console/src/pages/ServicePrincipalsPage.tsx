import { useState, type SubmitEvent } from 'react';
import type { CreatedServicePrincipal, ServicePrincipal, Workspace } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { CopyButton } from '../components/CopyButton';
import { ServicePrincipalPanel } from '../components/ServicePrincipalPanel';
import { TextField } from '../components/TextField';
import { ValueRow } from '../components/ValueRow';
import { useConsole } from '../context';
import { useAction, useLoad } from '../hooks';

/**
 * The tenant's service principals (name, client id, the workspaces each may use, when it was created) and a form
 * to create one for the internal DEK API, scoped to chosen workspaces. The client secret is shown once, held only
 * in this component's state, and dropped when the admin dismisses it or leaves the page; the list never has it.
 * "Manage" opens the principal's panel: disable/enable, rotate or revoke secrets, scope, networks, delete.
 */
export function ServicePrincipalsPage() {
  const { api, canWrite } = useConsole();
  const workspaces = useLoad(() => api.listWorkspaces(), [api]);
  const principals = useLoad(() => api.listServicePrincipals(), [api]);
  const [name, setName] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const [created, setCreated] = useState<(CreatedServicePrincipal & { name: string }) | null>(null);
  const [managed, setManaged] = useState<string | null>(null);
  const create = useAction(async () => {
    const sp = await api.createServicePrincipal(name.trim(), selected);
    setCreated({ ...sp, name: name.trim() });
    setName('');
    setSelected([]);
    principals.reload();
  });
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void create.run();
  }

  return (
    <section>
      <h1>Service principals</h1>
      <p className="lede">
        Your services use a service principal to fetch data keys from Keyhold’s internal API — only for the workspaces you choose. Key admins and auditors can
        never fetch data keys.
      </p>
      {created && (
        <section className="banner banner-warn secret" aria-labelledby="secret-title" role="alert">
          <h2 id="secret-title">Copy the client secret now — it will not be shown again</h2>
          <p>Store it in your secret manager. Keyhold keeps only a hash; if it is lost, create a new service principal.</p>
          <dl>
            <ValueRow label="Client id" value={created.clientId} />
            <ValueRow label="Client secret" value={created.clientSecret} />
          </dl>
          <button type="button" className="btn" onClick={() => setCreated(null)}>
            I have stored the secret
          </button>
        </section>
      )}
      <section aria-labelledby="sp-list">
        <h2 id="sp-list">Existing service principals</h2>
        <ErrorAlert error={principals.error} title="Could not load service principals" />
        {principals.loading && !principals.data && <p aria-live="polite">Loading…</p>}
        {principals.data?.length === 0 && <p className="empty">No service principals yet.</p>}
        {principals.data && principals.data.length > 0 && <PrincipalsTable principals={principals.data} workspaces={workspaces.data ?? []} onManage={setManaged} />}
      </section>
      {managed && (
        <ServicePrincipalPanel
          key={managed}
          api={api}
          principalId={managed}
          workspaces={workspaces.data ?? []}
          canWrite={canWrite}
          onChanged={principals.reload}
          onClose={() => setManaged(null)}
        />
      )}
      {canWrite ? (
        <form className="card inline-form" onSubmit={submit} aria-labelledby="sp-new">
          <h2 id="sp-new">New service principal</h2>
          <TextField id="sp-name" label="Name" value={name} onChange={setName} required help="For example the service that will use it: “ingest-eu”." />
          <fieldset>
            <legend>Workspaces it may fetch data keys for</legend>
            <ErrorAlert error={workspaces.error} title="Could not load workspaces" />
            {workspaces.data?.length === 0 && <p className="muted">No workspaces yet.</p>}
            <ul className="checklist">
              {workspaces.data?.map((w) => (
                <li key={w.id}>
                  <label>
                    <input type="checkbox" checked={selected.includes(w.id)} onChange={() => toggle(w.id)} /> {w.name}
                  </label>
                </li>
              ))}
            </ul>
          </fieldset>
          <ErrorAlert error={create.error} title="The service principal was not created" />
          <button className="btn btn-primary" type="submit" disabled={create.busy || !name.trim() || selected.length === 0}>
            {create.busy ? 'Creating…' : 'Create service principal'}
          </button>
        </form>
      ) : (
        <p className="muted">Only key admins can create service principals.</p>
      )}
    </section>
  );
}

function PrincipalsTable({ principals, workspaces, onManage }: { principals: ServicePrincipal[]; workspaces: Workspace[]; onManage: (id: string) => void }) {
  const byId = new Map(workspaces.map((w) => [w.id, w.name]));
  return (
    <table className="principals">
      <caption className="visually-hidden">Existing service principals</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Client id</th>
          <th scope="col">Workspaces it may access</th>
          <th scope="col">Created</th>
          <th scope="col">Status</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {principals.map((sp) => (
          <tr key={sp.id} data-client-id={sp.clientId}>
            <th scope="row">{sp.name}</th>
            <td className="nowrap">
              <code className="value">{sp.clientId}</code> <CopyButton value={sp.clientId} label={`client id of ${sp.name}`} />
            </td>
            <td>
              {sp.workspaceIds.length === 0 ? (
                <span className="muted">None</span>
              ) : (
                <ul className="inline-list" aria-label={`Workspaces ${sp.name} may access`}>
                  {sp.workspaceIds
                    .map((id) => ({ id, name: byId.get(id) ?? id }))
                    .sort((a, b) => a.name.localeCompare(b.name))
                    .map((w) => (
                      <li key={w.id}>
                        <a href={`#/workspaces/${encodeURIComponent(w.id)}`}>{w.name}</a>
                      </li>
                    ))}
                </ul>
              )}
            </td>
            <td className="nowrap">
              <time dateTime={sp.createdAt}>{formatDate(sp.createdAt)}</time>
            </td>
            <td>
              <span className={`badge ${sp.disabled ? 'badge-bad' : 'badge-ok'}`}>{sp.disabled ? 'Disabled' : 'Enabled'}</span>
            </td>
            <td>
              <button type="button" className="btn btn-small" onClick={() => onManage(sp.id)} aria-label={`Manage ${sp.name}`}>
                Manage
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function formatDate(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
