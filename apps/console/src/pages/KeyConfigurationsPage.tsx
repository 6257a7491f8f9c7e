import { useState } from 'react';
import type { BulkOperation, KeyConfiguration, KeyConfigurationQuery } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { BulkResult } from '../components/BulkResult';
import { Pager } from '../components/Pager';
import { keyIdentifier, PROVIDER_NAMES } from '../components/ProviderName';
import { StatusBadge } from '../components/StateBadge';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { useDebounced, usePagedList } from '../paged-list';

/**
 * The tenant's key configurations, searched and filtered by the server and paged. A key admin can rewrap every
 * workspace of a configuration under its current key version as one tracked operation (results shown below).
 */
export function KeyConfigurationsPage() {
  const { api, canWrite } = useConsole();
  const [search, setSearch] = useState('');
  const [provider, setProvider] = useState<'' | 'aws' | 'azure' | 'gcp'>('');
  const [status, setStatus] = useState<'' | 'valid' | 'invalid'>('');
  const q = useDebounced(search.trim(), 300);
  const query: KeyConfigurationQuery = {
    q: q || undefined,
    provider: provider ? [provider] : undefined,
    status: status ? [status] : undefined,
    sort: 'name',
    limit: 25,
  };
  const list = usePagedList('key-configurations', api.tenantId, query, (qq, cursor) =>
    api.pageKeyConfigurations(qq, cursor),
  );
  const [bulk, setBulk] = useState<BulkOperation | null>(null);
  const rewrap = useAction(async (kc: KeyConfiguration) =>
    setBulk(await api.startBulkOperation({ action: 'rewrap', keyConfigurationId: kc.id })),
  );
  const filtered = !!(q || provider || status);
  return (
    <section>
      <div className="page-head">
        <h1>Key configurations</h1>
        {canWrite && (
          <a className="btn btn-primary" href="#/keys/new">
            Register a key
          </a>
        )}
      </div>
      <p className="lede">
        A key configuration points Keyhold at one of your cloud keys and the identity it uses to reach it.
      </p>
      <form
        className="filters"
        role="search"
        aria-label="Search and filter key configurations"
        onSubmit={(e) => e.preventDefault()}
      >
        <div className="field grow">
          <label htmlFor="kc-search">Find key configurations</label>
          <input
            id="kc-search"
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            maxLength={100}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor="kc-provider">Cloud</label>
          <select
            id="kc-provider"
            value={provider}
            onChange={(e) => setProvider(e.target.value as '' | 'aws' | 'azure' | 'gcp')}
          >
            <option value="">Any cloud</option>
            <option value="aws">{PROVIDER_NAMES.aws ?? 'AWS'}</option>
            <option value="azure">{PROVIDER_NAMES.azure ?? 'Azure'}</option>
            <option value="gcp">{PROVIDER_NAMES.gcp ?? 'Google Cloud'}</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="kc-status">Status</label>
          <select id="kc-status" value={status} onChange={(e) => setStatus(e.target.value as '' | 'valid' | 'invalid')}>
            <option value="">Any status</option>
            <option value="valid">Valid</option>
            <option value="invalid">Invalid</option>
          </select>
        </div>
      </form>
      <ErrorAlert error={list.error} title="Could not load key configurations" />
      <ErrorAlert error={rewrap.error} title="The rewrap was not started" />
      {list.loading && <p aria-live="polite">Loading…</p>}
      {list.items?.length === 0 && (
        <p className="empty">
          {filtered
            ? 'No key configuration matches these filters.'
            : 'No key configurations yet. Register one to start protecting workspaces with your key.'}
        </p>
      )}
      {list.items && list.items.length > 0 && (
        <table aria-busy={list.fetching}>
          <caption className="visually-hidden">Key configurations{filtered ? ' (filtered)' : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cloud</th>
              <th scope="col">Key</th>
              <th scope="col">Status</th>
              {canWrite && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {list.items.map((kc) => (
              <tr key={kc.id}>
                <td>
                  <a href={`#/keys/${encodeURIComponent(kc.id)}`}>{kc.name}</a>
                </td>
                <td>{PROVIDER_NAMES[kc.provider] ?? kc.provider}</td>
                <td className="mono truncate" title={keyIdentifier(kc)}>
                  {keyIdentifier(kc)}
                </td>
                <td>
                  <StatusBadge ok={kc.status === 'valid'} yes="Valid" no="Invalid" />
                </td>
                {canWrite && (
                  <td>
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={rewrap.busy}
                      onClick={() => void rewrap.run(kc)}
                      aria-label={`Rewrap every workspace of ${kc.name}`}
                    >
                      Rewrap all workspaces
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {(list.hasPrevious || list.hasNext) && (
        <Pager
          label="Key configurations"
          pageNumber={list.pageNumber}
          hasPrevious={list.hasPrevious}
          hasNext={list.hasNext}
          busy={list.fetching}
          onPrevious={list.previous}
          onNext={list.next}
        />
      )}
      {bulk && <BulkResult key={bulk.id} api={api} initial={bulk} onDismiss={() => setBulk(null)} />}
    </section>
  );
}
