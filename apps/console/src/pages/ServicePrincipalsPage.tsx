import { useState, type SubmitEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { ApiClient } from '../api/client';
import type { CreatedServicePrincipal, ServicePrincipal, ServicePrincipalQuery } from '../api/types';
import { Pager } from '../components/Pager';
import { useWorkspaceNames, WorkspacePicker } from '../components/WorkspacePicker';
import { useDebounced, usePagedList } from '../paged-list';
import { ErrorAlert } from '../components/Alert';
import { CopyButton } from '../components/CopyButton';
import { ServicePrincipalPanel } from '../components/ServicePrincipalPanel';
import { TextField } from '../components/TextField';
import { ValueRow } from '../components/ValueRow';
import { useConsole } from '../context';
import { useAction } from '../hooks';

/**
 * The tenant's service principals (name, client id, the workspaces each may use, when it was created) and a form
 * to create one for the internal DEK API, scoped to chosen workspaces. The client secret is shown once, held only
 * in this component's state, and dropped when the admin dismisses it or leaves the page; the list never has it.
 * "Manage" opens the principal's panel: disable/enable, rotate or revoke secrets, scope, networks, delete.
 */
export function ServicePrincipalsPage() {
  const { api, canWrite } = useConsole();
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState<'' | 'enabled' | 'disabled'>('');
  const q = useDebounced(search.trim(), 300);
  const query: ServicePrincipalQuery = {
    q: q || undefined,
    disabled: status === '' ? undefined : status === 'disabled',
    sort: 'name',
    limit: 25,
  };
  const principals = usePagedList('service-principals', api.tenantId, query, (qq, cursor) =>
    api.pageServicePrincipals(qq, cursor),
  );
  const queryClient = useQueryClient();
  const reload = () => void queryClient.invalidateQueries({ queryKey: ['tenant', api.tenantId, 'service-principals'] });
  const [name, setName] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const [created, setCreated] = useState<(CreatedServicePrincipal & { name: string }) | null>(null);
  const [managed, setManaged] = useState<string | null>(null);
  const create = useAction(async () => {
    const sp = await api.createServicePrincipal(name.trim(), selected);
    setCreated({ ...sp, name: name.trim() });
    setName('');
    setSelected([]);
    reload();
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
        Your services use a service principal to fetch data keys from Keyhold’s internal API — only for the workspaces
        you choose. Key admins and auditors can never fetch data keys.
      </p>
      {created && (
        <section className="banner banner-warn secret" aria-labelledby="secret-title" role="alert">
          <h2 id="secret-title">Copy the client secret now — it will not be shown again</h2>
          <p>
            Store it in your secret manager. Keyhold keeps only a hash; if it is lost, create a new service principal.
          </p>
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
        <form
          className="filters"
          role="search"
          aria-label="Search and filter service principals"
          onSubmit={(e) => e.preventDefault()}
        >
          <div className="field grow">
            <label htmlFor="sp-search">Find service principals</label>
            <input
              id="sp-search"
              type="search"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
              maxLength={100}
              spellCheck={false}
            />
          </div>
          <div className="field">
            <label htmlFor="sp-status">Status</label>
            <select
              id="sp-status"
              value={status}
              onChange={(e) => setStatus(e.target.value as '' | 'enabled' | 'disabled')}
            >
              <option value="">Any</option>
              <option value="enabled">Enabled</option>
              <option value="disabled">Disabled</option>
            </select>
          </div>
        </form>
        <ErrorAlert error={principals.error} title="Could not load service principals" />
        {principals.loading && <p aria-live="polite">Loading…</p>}
        {principals.items?.length === 0 && (
          <p className="empty">{q || status ? 'No service principal matches.' : 'No service principals yet.'}</p>
        )}
        {principals.items && principals.items.length > 0 && (
          <PrincipalsTable api={api} principals={principals.items} onManage={setManaged} />
        )}
        {(principals.hasPrevious || principals.hasNext) && (
          <Pager
            label="Service principals"
            pageNumber={principals.pageNumber}
            hasPrevious={principals.hasPrevious}
            hasNext={principals.hasNext}
            busy={principals.fetching}
            onPrevious={principals.previous}
            onNext={principals.next}
          />
        )}
      </section>
      {managed && (
        <ServicePrincipalPanel
          key={managed}
          api={api}
          principalId={managed}
          canWrite={canWrite}
          onChanged={reload}
          onClose={() => setManaged(null)}
        />
      )}
      {canWrite ? (
        <form className="card inline-form" onSubmit={submit} aria-labelledby="sp-new">
          <h2 id="sp-new">New service principal</h2>
          <TextField
            id="sp-name"
            label="Name"
            value={name}
            onChange={setName}
            required
            help="For example the service that will use it: “ingest-eu”."
          />
          <WorkspacePicker
            api={api}
            idPrefix="sp-new"
            legend="Workspaces it may fetch data keys for"
            selected={selected}
            onToggle={toggle}
          />
          <ErrorAlert error={create.error} title="The service principal was not created" />
          <button
            className="btn btn-primary"
            type="submit"
            disabled={create.busy || !name.trim() || selected.length === 0}
          >
            {create.busy ? 'Creating…' : 'Create service principal'}
          </button>
        </form>
      ) : (
        <p className="muted">Only key admins can create service principals.</p>
      )}
    </section>
  );
}

/** Names shown per principal; the rest is counted (a principal may be scoped to a thousand workspaces). */
const SHOWN_PER_PRINCIPAL = 8;

function PrincipalsTable({
  api,
  principals,
  onManage,
}: {
  api: ApiClient;
  principals: ServicePrincipal[];
  onManage: (id: string) => void;
}) {
  const byId = useWorkspaceNames(
    api,
    principals.flatMap((p) => p.workspaceIds.slice(0, SHOWN_PER_PRINCIPAL)),
  );
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
              <code className="value">{sp.clientId}</code>{' '}
              <CopyButton value={sp.clientId} label={`client id of ${sp.name}`} />
            </td>
            <td>
              {sp.workspaceIds.length === 0 ? (
                <span className="muted">None</span>
              ) : (
                <ul className="inline-list" aria-label={`Workspaces ${sp.name} may access`}>
                  {sp.workspaceIds
                    .slice(0, SHOWN_PER_PRINCIPAL)
                    .map((id) => ({ id, name: byId.get(id) ?? id }))
                    .sort((a, b) => a.name.localeCompare(b.name))
                    .map((w) => (
                      <li key={w.id}>
                        <a href={`#/workspaces/${encodeURIComponent(w.id)}`}>{w.name}</a>
                      </li>
                    ))}
                  {sp.workspaceIds.length > SHOWN_PER_PRINCIPAL && (
                    <li>and {sp.workspaceIds.length - SHOWN_PER_PRINCIPAL} more</li>
                  )}
                </ul>
              )}
            </td>
            <td className="nowrap">
              <time dateTime={sp.createdAt}>{formatDate(sp.createdAt)}</time>
            </td>
            <td>
              <span className={`badge ${sp.disabled ? 'badge-bad' : 'badge-ok'}`}>
                {sp.disabled ? 'Disabled' : 'Enabled'}
              </span>
            </td>
            <td>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => onManage(sp.id)}
                aria-label={`Manage ${sp.name}`}
              >
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
