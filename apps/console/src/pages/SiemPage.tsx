import { useState, type SubmitEvent } from 'react';
import type { SiemDestination, SiemFormat, SiemKind } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { TextField } from '../components/TextField';
import { ValueRow } from '../components/ValueRow';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { useTenantQuery } from '../api/queries';

const KIND_LABEL: Record<SiemKind, string> = {
  webhook: 'HTTPS webhook (signed)',
  'splunk-hec': 'Splunk HEC',
  jsonl: 'JSON lines (signed)',
};
const FORMAT_LABEL: Record<SiemFormat, string> = { native: 'Keyhold (native)', cef: 'CEF', ocsf: 'OCSF 1.1' };

/**
 * Where the tenant's audit log is streamed (docs/AUDIT.md "Streaming to a SIEM"): each destination with its state,
 * lag, pending events and last error, refreshed every few seconds; key admins create, rotate the secret, delete,
 * and retry a dead-lettered destination. A signing secret is shown once, held only in this component's state.
 */
export function SiemPage() {
  const { api, canWrite } = useConsole();
  // Delivery lag and dead letters change on their own: poll while the page is open.
  const list = useTenantQuery(['siem-destinations'], (a) => a.listSiemDestinations(), { refetchInterval: () => 5_000 });
  const [name, setName] = useState('');
  const [kind, setKind] = useState<SiemKind>('webhook');
  const [format, setFormat] = useState<SiemFormat>('native');
  const [url, setUrl] = useState('');
  const [token, setToken] = useState('');
  const [shown, setShown] = useState<{ name: string; secret: string } | null>(null);
  const create = useAction(async () => {
    const r = await api.createSiemDestination({
      name: name.trim(),
      kind,
      format,
      url: url.trim(),
      ...(kind === 'splunk-hec' ? { token } : {}),
    });
    if (r.secret) setShown({ name: r.destination.name, secret: r.secret });
    setName('');
    setUrl('');
    setToken('');
  }, [['siem-destinations']]);
  const act = useAction(
    async (what: 'retry' | 'rotate' | 'delete', d: SiemDestination) => {
      if (what === 'retry') await api.retrySiemDestination(d.id);
      if (what === 'delete') {
        if (!window.confirm(`Stop streaming to “${d.name}” and delete it?`)) return;
        await api.deleteSiemDestination(d.id);
      }
      if (what === 'rotate') {
        let change: { token?: string; overlapSeconds?: number } = {};
        if (d.kind === 'splunk-hec') {
          const token = window.prompt(`New Splunk HEC token for “${d.name}”`);
          if (!token) return;
          change = { token };
        } else {
          // Both secrets sign for a day, so the receiver can be switched without refusing a delivery.
          change = {
            overlapSeconds: window.confirm(
              `Keep the current secret of “${d.name}” signing too for 24 hours while you update your receiver?`,
            )
              ? 86_400
              : 0,
          };
        }
        const r = await api.rotateSiemSecret(d.id, change);
        if (r.secret) setShown({ name: d.name, secret: r.secret });
      }
    },
    [['siem-destinations']],
  );

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void create.run();
  }

  return (
    <section>
      <h1>SIEM streaming</h1>
      <p className="lede">
        Every record of your audit log is sent to your SIEM within seconds, in order, at least once: each event carries
        an id (<code>tenant:sequence</code>) your SIEM can use to drop repeats. If a destination keeps failing, delivery
        stops and waits for you here; nothing is skipped.
      </p>
      {shown && (
        <section className="banner banner-warn secret" aria-labelledby="siem-secret-title" role="alert">
          <h2 id="siem-secret-title">Copy the signing secret of “{shown.name}” now — it will not be shown again</h2>
          <p>
            Your receiver checks the <code>Keyhold-Signature</code> header (HMAC-SHA256 of the timestamp and the body)
            with it.
          </p>
          <dl>
            <ValueRow label="Signing secret" value={shown.secret} />
          </dl>
          <button type="button" className="btn" onClick={() => setShown(null)}>
            I have stored the secret
          </button>
        </section>
      )}
      <section aria-labelledby="siem-list">
        <h2 id="siem-list">Destinations</h2>
        <ErrorAlert error={list.error} title="Could not load SIEM destinations" />
        <ErrorAlert error={act.error} title="The action failed" />
        {list.loading && !list.data && <p aria-live="polite">Loading…</p>}
        {list.data?.length === 0 && <p className="empty">No destinations yet: your audit log is only in Keyhold.</p>}
        {list.data && list.data.length > 0 && (
          <table className="siem">
            <caption className="visually-hidden">SIEM destinations</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type and fields</th>
                <th scope="col">URL</th>
                <th scope="col">Status</th>
                <th scope="col">Lag</th>
                <th scope="col">Delivered</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => (
                <tr key={d.id} data-destination={d.id}>
                  <th scope="row">{d.name}</th>
                  <td>
                    {KIND_LABEL[d.kind]}
                    <br />
                    <span className="muted small">{FORMAT_LABEL[d.format]}</span>
                  </td>
                  <td>
                    <code className="value">{d.url}</code>
                  </td>
                  <td>
                    <Status d={d} />
                  </td>
                  <td className="nowrap">
                    {d.pendingEvents === 0 ? 'Caught up' : `${describeLag(d.lagSeconds)}, ${d.pendingEvents} pending`}
                  </td>
                  <td className="nowrap">
                    {d.deliveredCount} events
                    {d.lastDeliveredAt && (
                      <>
                        <br />
                        <span className="muted small">
                          last <time dateTime={d.lastDeliveredAt}>{formatDate(d.lastDeliveredAt)}</time>
                        </span>
                      </>
                    )}
                  </td>
                  <td className="nowrap">
                    {canWrite && (
                      <>
                        {d.state === 'dead_letter' && (
                          <button
                            type="button"
                            className="btn btn-small btn-primary"
                            disabled={act.busy}
                            onClick={() => void act.run('retry', d)}
                            aria-label={`Retry ${d.name}`}
                          >
                            Retry
                          </button>
                        )}{' '}
                        <button
                          type="button"
                          className="btn btn-small"
                          disabled={act.busy}
                          onClick={() => void act.run('rotate', d)}
                          aria-label={`Rotate secret of ${d.name}`}
                        >
                          Rotate secret
                        </button>{' '}
                        <button
                          type="button"
                          className="btn btn-small btn-danger"
                          disabled={act.busy}
                          onClick={() => void act.run('delete', d)}
                          aria-label={`Delete ${d.name}`}
                        >
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {canWrite ? (
        <form className="card inline-form" onSubmit={submit} aria-labelledby="siem-new">
          <h2 id="siem-new">New destination</h2>
          <TextField
            id="siem-name"
            label="Name"
            value={name}
            onChange={setName}
            required
            help="For example “soc-splunk”."
          />
          <div className="field">
            <label htmlFor="siem-kind">Type</label>
            <select id="siem-kind" value={kind} onChange={(e) => setKind(e.target.value as SiemKind)}>
              {(Object.keys(KIND_LABEL) as SiemKind[]).map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="siem-format">Fields</label>
            <select
              id="siem-format"
              value={format}
              onChange={(e) => setFormat(e.target.value as SiemFormat)}
              aria-describedby="siem-format-help"
            >
              {(Object.keys(FORMAT_LABEL) as SiemFormat[]).map((f) => (
                <option key={f} value={f}>
                  {FORMAT_LABEL[f]}
                </option>
              ))}
            </select>
            <p id="siem-format-help" className="help">
              OCSF maps identity changes to Account Change and everything else to API Activity.
            </p>
          </div>
          <TextField
            id="siem-url"
            label="URL"
            value={url}
            onChange={setUrl}
            required
            mono
            help={
              kind === 'splunk-hec'
                ? 'Your HEC endpoint, e.g. https://splunk.example.com:8088 (the event path is added).'
                : 'An https URL on the internet; internal addresses are refused.'
            }
          />
          {kind === 'splunk-hec' && (
            <TextField
              id="siem-token"
              label="HEC token"
              value={token}
              onChange={setToken}
              required
              mono
              type="password"
              help="Stored sealed, never shown again."
            />
          )}
          <ErrorAlert error={create.error} title="The destination was not created" />
          <button
            className="btn btn-primary"
            type="submit"
            disabled={create.busy || !name.trim() || !url.trim() || (kind === 'splunk-hec' && !token)}
          >
            {create.busy ? 'Creating…' : 'Create destination'}
          </button>
        </form>
      ) : (
        <p className="muted">Only key admins can change SIEM destinations.</p>
      )}
    </section>
  );
}

function Status({ d }: { d: SiemDestination }) {
  if (d.state === 'dead_letter')
    return (
      <>
        <span className="badge badge-bad">Stopped (dead letter)</span>
        <br />
        <span className="small">
          after {d.failures} failures: {d.lastError ?? 'unknown error'}
        </span>
      </>
    );
  if (d.failures > 0)
    return (
      <>
        <span className="badge badge-warn">Retrying</span>
        <br />
        <span className="small">
          {d.failures} failed {d.failures === 1 ? 'attempt' : 'attempts'}: {d.lastError ?? 'unknown error'}
        </span>
      </>
    );
  return <span className="badge badge-ok">{d.pendingEvents === 0 ? 'Delivering, caught up' : 'Delivering'}</span>;
}

function describeLag(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s behind`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min behind`;
  return `${(seconds / 3600).toFixed(1)} h behind`;
}

function formatDate(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
