import { ErrorAlert } from '../components/Alert';
import { keyIdentifier, PROVIDER_NAMES } from '../components/ProviderName';
import { StatusBadge } from '../components/StateBadge';
import { useConsole } from '../context';
import { useKeyConfigurations } from '../api/queries';

export function KeyConfigurationsPage() {
  const { api, canWrite } = useConsole();
  const list = useKeyConfigurations();
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
      <p className="lede">A key configuration points Keyhold at one of your cloud keys and the identity it uses to reach it.</p>
      <ErrorAlert error={list.error} title="Could not load key configurations" />
      {list.loading && !list.data && <p aria-live="polite">Loading…</p>}
      {list.data && list.data.length === 0 && <p className="empty">No key configurations yet. Register one to start protecting workspaces with your key.</p>}
      {list.data && list.data.length > 0 && (
        <table>
          <caption className="visually-hidden">Key configurations</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Cloud</th>
              <th scope="col">Key</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((kc) => (
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
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
