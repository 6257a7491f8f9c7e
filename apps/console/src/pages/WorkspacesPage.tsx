import { useQuery } from '@tanstack/react-query';
import { useState, type SubmitEvent } from 'react';
import type { BulkOperation, KeyState, Workspace, WorkspaceQuery } from '../api/types';
import { ErrorAlert, Notice } from '../components/Alert';
import { BulkResult } from '../components/BulkResult';
import { Pager } from '../components/Pager';
import { KEY_STATE_LABELS, StateBadge } from '../components/StateBadge';
import { TextField } from '../components/TextField';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { useDebounced, usePagedList } from '../paged-list';
import { navigate } from '../router';

const FILTER_STATES: KeyState[] = [
  'active',
  'unbound',
  'rekeying',
  'rewrapping',
  'kek_rotating',
  'access_suspect',
  'shredded',
  'destroyed',
];
/** The API's bound on one bulk operation. */
const BULK_MAX = 1000;

/**
 * The tenant's workspaces, searched, filtered, sorted and paged by the server (a tenant may have 100,000), with a
 * selection on the page and bulk actions over it (bind or re-key to a configuration), each one tracked operation
 * whose per-workspace results are shown below the table.
 */
export function WorkspacesPage() {
  const { api, canWrite } = useConsole();
  const [search, setSearch] = useState('');
  const [keyState, setKeyState] = useState<KeyState | ''>('');
  const [config, setConfig] = useState('');
  const [health, setHealth] = useState<'' | 'degraded' | 'normal'>('');
  const [sort, setSort] = useState<'createdAt' | 'name'>('createdAt');
  const q = useDebounced(search.trim(), 300);
  const query: WorkspaceQuery = {
    q: q || undefined,
    keyState: keyState ? [keyState] : undefined,
    keyConfigurationId: config || undefined,
    degraded: health === '' ? undefined : health === 'degraded',
    sort,
    order: 'asc',
    limit: 50,
  };
  const list = usePagedList('workspaces', api.tenantId, query, (qq, cursor) => api.pageWorkspaces(qq, cursor));
  const configs = useQuery({
    queryKey: ['tenant', api.tenantId, 'key-configurations', 'all'],
    queryFn: () => api.listKeyConfigurations(),
  });
  const troubled = useQuery({
    queryKey: ['tenant', api.tenantId, 'workspaces', 'troubled'],
    queryFn: () => api.pageWorkspaces({ keyState: ['shredded', 'access_suspect'], limit: 10 }),
  });
  const [selected, setSelected] = useState<Map<string, Workspace>>(new Map());
  const [bulkAction, setBulkAction] = useState<'bind' | 'rekey'>('bind');
  const [bulkConfig, setBulkConfig] = useState('');
  const [bulk, setBulk] = useState<BulkOperation | null>(null);
  const [name, setName] = useState('');
  const create = useAction(async () => {
    const w = await api.createWorkspace(name.trim());
    setName('');
    navigate(`/workspaces/${encodeURIComponent(w.id)}`);
  });
  const startBulk = useAction(async () => {
    const b = await api.startBulkOperation({
      action: bulkAction,
      keyConfigurationId: bulkConfig,
      workspaceIds: [...selected.keys()],
    });
    setBulk(b);
    setSelected(new Map());
  });

  const configName = (id: string | null) => (id ? (configs.data?.find((c) => c.id === id)?.name ?? id) : '—');
  const page = list.items ?? [];
  const allOnPage = page.length > 0 && page.every((w) => selected.has(w.id));
  const toggle = (w: Workspace) =>
    setSelected((s) => {
      const n = new Map(s);
      if (n.has(w.id)) n.delete(w.id);
      else n.set(w.id, w);
      return n;
    });
  const togglePage = () =>
    setSelected((s) => {
      const n = new Map(s);
      for (const w of page) {
        if (allOnPage) n.delete(w.id);
        else n.set(w.id, w);
      }
      return n;
    });
  const filtered = !!(q || keyState || config || health);

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void create.run();
  }
  function submitBulk(e: SubmitEvent) {
    e.preventDefault();
    void startBulk.run();
  }

  return (
    <section>
      <h1>Workspaces</h1>
      <p className="lede">
        Each workspace has its own key-encryption key (KEK), wrapped by the customer key of the configuration it is
        bound to.
      </p>
      {troubled.data && troubled.data.items.length > 0 && (
        <div className="alert alert-error" role="alert">
          {troubled.data.next
            ? 'Several workspaces have'
            : troubled.data.items.length === 1
              ? '1 workspace has'
              : `${troubled.data.items.length} workspaces have`}{' '}
          lost access to the customer key. Open{' '}
          {troubled.data.items.map((w, i) => (
            <span key={w.id}>
              {i > 0 && ', '}
              <a href={`#/workspaces/${encodeURIComponent(w.id)}`}>{w.name}</a>
            </span>
          ))}
          {troubled.data.next ? ' and the others (filter by key state)' : ''} for what happened and how to recover.
        </div>
      )}
      <form
        className="filters"
        role="search"
        aria-label="Search and filter workspaces"
        onSubmit={(e) => e.preventDefault()}
      >
        <div className="field grow">
          <label htmlFor="ws-search">Find workspaces</label>
          <input
            id="ws-search"
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            maxLength={100}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor="ws-state">Key state</label>
          <select id="ws-state" value={keyState} onChange={(e) => setKeyState(e.target.value as KeyState | '')}>
            <option value="">Any state</option>
            {FILTER_STATES.map((s) => (
              <option key={s} value={s}>
                {KEY_STATE_LABELS[s]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="ws-config">Key configuration</label>
          <select id="ws-config" value={config} onChange={(e) => setConfig(e.target.value)}>
            <option value="">Any configuration</option>
            {configs.data?.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="ws-health">Health</label>
          <select
            id="ws-health"
            value={health}
            onChange={(e) => setHealth(e.target.value as '' | 'degraded' | 'normal')}
          >
            <option value="">Any</option>
            <option value="degraded">Degraded</option>
            <option value="normal">Normal</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="ws-sort">Sort by</label>
          <select id="ws-sort" value={sort} onChange={(e) => setSort(e.target.value as 'createdAt' | 'name')}>
            <option value="createdAt">Creation</option>
            <option value="name">Name</option>
          </select>
        </div>
      </form>
      <ErrorAlert error={list.error} title="Could not load workspaces" />
      {list.loading && <p aria-live="polite">Loading…</p>}
      {!list.loading && page.length === 0 && (
        <p className="empty">{filtered ? 'No workspace matches these filters.' : 'No workspaces yet.'}</p>
      )}
      {page.length > 0 && (
        <table aria-busy={list.fetching}>
          <caption className="visually-hidden">Workspaces{filtered ? ' (filtered)' : ''}</caption>
          <thead>
            <tr>
              {canWrite && (
                <th scope="col" className="select">
                  <input
                    type="checkbox"
                    checked={allOnPage}
                    onChange={togglePage}
                    aria-label="Select every workspace on this page"
                  />
                </th>
              )}
              <th scope="col">Name</th>
              <th scope="col">Key state</th>
              <th scope="col">Key configuration</th>
              <th scope="col">KEK version</th>
              <th scope="col">Health</th>
            </tr>
          </thead>
          <tbody>
            {page.map((w) => (
              <tr key={w.id} className={w.keyState === 'shredded' ? 'row-bad' : undefined}>
                {canWrite && (
                  <td className="select">
                    <input
                      type="checkbox"
                      checked={selected.has(w.id)}
                      onChange={() => toggle(w)}
                      aria-label={`Select ${w.name}`}
                    />
                  </td>
                )}
                <td>
                  <a href={`#/workspaces/${encodeURIComponent(w.id)}`}>{w.name}</a>
                </td>
                <td>
                  <StateBadge state={w.keyState} />
                </td>
                <td>{configName(w.keyConfigurationId)}</td>
                <td>{w.kekVersion ?? '—'}</td>
                <td>
                  {w.degraded ? (
                    <span className="badge badge-warn">Degraded</span>
                  ) : (
                    <span className="muted">Normal</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(list.hasPrevious || list.hasNext) && (
        <Pager
          label="Workspaces"
          pageNumber={list.pageNumber}
          hasPrevious={list.hasPrevious}
          hasNext={list.hasNext}
          busy={list.fetching}
          onPrevious={list.previous}
          onNext={list.next}
        />
      )}
      {canWrite && selected.size > 0 && (
        <form className="card bulk-bar" onSubmit={submitBulk} aria-labelledby="bulk-title">
          <h2 id="bulk-title" className="visually-hidden">
            Bulk action
          </h2>
          <p aria-live="polite">
            {selected.size} workspace{selected.size === 1 ? '' : 's'} selected
            {selected.size > BULK_MAX ? ` (at most ${BULK_MAX} at once)` : ''}
          </p>
          <div className="field">
            <label htmlFor="bulk-action">Action</label>
            <select
              id="bulk-action"
              value={bulkAction}
              onChange={(e) => setBulkAction(e.target.value as 'bind' | 'rekey')}
            >
              <option value="bind">Bind to a key configuration</option>
              <option value="rekey">Re-key to another key configuration</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="bulk-config">Key configuration</label>
            <select id="bulk-config" value={bulkConfig} onChange={(e) => setBulkConfig(e.target.value)} required>
              <option value="">Choose…</option>
              {configs.data
                ?.filter((c) => c.status === 'valid')
                .map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
            </select>
          </div>
          <button
            className="btn btn-primary"
            type="submit"
            disabled={startBulk.busy || !bulkConfig || selected.size > BULK_MAX}
          >
            {startBulk.busy ? 'Starting…' : `Apply to ${selected.size} workspace${selected.size === 1 ? '' : 's'}`}
          </button>
          <button className="btn" type="button" onClick={() => setSelected(new Map())}>
            Clear selection
          </button>
          <ErrorAlert error={startBulk.error} title="The bulk action was not started" />
        </form>
      )}
      {bulk && (
        <BulkResult key={bulk.id} api={api} initial={bulk} onFinished={list.refetch} onDismiss={() => setBulk(null)} />
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
