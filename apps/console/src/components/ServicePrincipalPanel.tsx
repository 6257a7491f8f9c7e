import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type SubmitEvent } from 'react';
import type { ApiClient } from '../api/client';
import type { RotatedSecret } from '../api/types';
import { WorkspacePicker } from './WorkspacePicker';
import { ErrorAlert } from './Alert';
import { ValueRow } from './ValueRow';
import { useAction } from '../hooks';
import { useInvalidate, useServicePrincipal } from '../api/queries';
import { PrincipalReasonsField } from './ReasonPolicyPanel';

/** How long the previous secret may keep working after a rotation (the API allows 0 to 7 days). */
const OVERLAPS: Array<{ seconds: number; label: string }> = [
  { seconds: 0, label: 'Stop it now' },
  { seconds: 3_600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 604_800, label: '7 days' },
];

/**
 * Everything a key admin can do to take a service principal's access back: disable/enable, rotate the secret
 * (the new one is shown once, with the overlap the admin chose for the old one), revoke one secret, change the
 * workspace scope, the allowed source networks and the client certificate it is bound to, delete (after a
 * confirmation). Auditors see the same facts
 * without the controls. Every change takes effect on every API replica within seconds, including on tokens the
 * service already holds.
 */
export function ServicePrincipalPanel(props: {
  api: ApiClient;
  principalId: string;
  canWrite: boolean;
  onChanged: () => void;
  onClose: () => void;
}) {
  const { api, principalId, canWrite, onChanged } = props;
  const sp = useServicePrincipal(principalId);
  const invalidate = useInvalidate();
  const [rotated, setRotated] = useState<RotatedSecret | null>(null);
  const [overlap, setOverlap] = useState(3_600);
  const [scope, setScope] = useState<string[]>([]);
  const [networks, setNetworks] = useState('');
  const [certificate, setCertificate] = useState('');
  const [confirmDelete, setConfirmDelete] = useState(false);
  const d = sp.data;
  useEffect(() => {
    if (!d) return;
    setScope(d.workspaceIds);
    setNetworks(d.ipAllowList.join('\n'));
    setCertificate(d.clientCertificateSha256 ?? '');
  }, [d]);

  const changed = () => {
    void invalidate(['service-principals']);
    onChanged();
  };
  const update = useAction(async (change: Parameters<ApiClient['updateServicePrincipal']>[1]) => {
    await api.updateServicePrincipal(principalId, change);
    changed();
  });
  const rotate = useAction(async () => {
    setRotated(await api.rotateServicePrincipalSecret(principalId, overlap));
    changed();
  });
  const revoke = useAction(async (secretId: string) => {
    await api.revokeServicePrincipalSecret(principalId, secretId);
    changed();
  });
  const queryClient = useQueryClient();
  const remove = useAction(async () => {
    await api.deleteServicePrincipal(principalId);
    // Forget what was read of it first: reloading the list must not ask for a principal that no longer exists.
    queryClient.removeQueries({ queryKey: ['tenant', api.tenantId, 'service-principals', principalId] });
    props.onClose();
    onChanged();
  });

  const submitRotate = (e: SubmitEvent) => {
    e.preventDefault();
    void rotate.run();
  };
  const submitScope = (e: SubmitEvent) => {
    e.preventDefault();
    void update.run({ workspaceIds: scope });
  };
  const submitNetworks = (e: SubmitEvent) => {
    e.preventDefault();
    void update.run({ ipAllowList: networks.split(/[\s,]+/).filter(Boolean) });
  };
  const submitCertificate = (e: SubmitEvent) => {
    e.preventDefault();
    void update.run({ clientCertificateSha256: certificate.trim() ? certificate.trim() : null });
  };
  const toggle = (id: string) => setScope((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  if (!d) {
    return (
      <section className="card" aria-label="Service principal">
        <ErrorAlert error={sp.error} title="Could not load the service principal" />
        {sp.loading && <p aria-live="polite">Loading…</p>}
      </section>
    );
  }
  return (
    <section className="card sp-panel" aria-labelledby="sp-manage-title">
      <h2 id="sp-manage-title">
        Manage “{d.name}”{' '}
        <span className={`badge ${d.disabled ? 'badge-bad' : 'badge-ok'}`}>{d.disabled ? 'Disabled' : 'Enabled'}</span>
      </h2>
      <p className="muted">
        Changes take effect at once on every Keyhold server, including on access tokens the service already holds.
      </p>
      <ErrorAlert error={update.error} title="The change was not saved" />
      {canWrite && (
        <p>
          <button
            type="button"
            className={`btn ${d.disabled ? '' : 'btn-danger'}`}
            disabled={update.busy}
            onClick={() => void update.run({ disabled: !d.disabled })}
          >
            {d.disabled ? 'Enable service principal' : 'Disable service principal'}
          </button>
        </p>
      )}

      <h3>Client secrets</h3>
      {rotated && (
        <section className="banner banner-warn secret" aria-labelledby="rotated-title" role="alert">
          <h4 id="rotated-title">Copy the new client secret now — it will not be shown again</h4>
          <dl>
            <ValueRow label="Client id" value={rotated.clientId} />
            <ValueRow label="New client secret" value={rotated.clientSecret} />
          </dl>
          <p>
            {rotated.previousSecretsExpireAt === null ||
            Date.parse(rotated.previousSecretsExpireAt) <= Date.now() + 1_000
              ? 'The previous secret has stopped working.'
              : `The previous secret keeps working until ${formatDate(rotated.previousSecretsExpireAt)}.`}
          </p>
          <button type="button" className="btn" onClick={() => setRotated(null)}>
            I have stored the secret
          </button>
        </section>
      )}
      {d.secrets.length === 0 ? (
        <p className="muted">No live secret: the service cannot get tokens until you rotate.</p>
      ) : (
        <table className="secrets">
          <caption className="visually-hidden">Live client secrets of {d.name}</caption>
          <thead>
            <tr>
              <th scope="col">Secret id</th>
              <th scope="col">Created</th>
              <th scope="col">Stops working</th>
              {canWrite && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {d.secrets.map((s) => (
              <tr key={s.id}>
                <td>
                  <code className="value">{s.id}</code>
                </td>
                <td className="nowrap">
                  <time dateTime={s.createdAt}>{formatDate(s.createdAt)}</time>
                </td>
                <td className="nowrap">
                  {s.expiresAt ? <time dateTime={s.expiresAt}>{formatDate(s.expiresAt)}</time> : 'When rotated'}
                </td>
                {canWrite && (
                  <td>
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      disabled={revoke.busy}
                      onClick={() => void revoke.run(s.id)}
                      aria-label={`Revoke now: secret ${s.id}`}
                    >
                      Revoke now
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorAlert error={revoke.error} title="The secret was not revoked" />
      {canWrite && (
        <form onSubmit={submitRotate} aria-labelledby="rotate-title">
          <h4 id="rotate-title">Rotate the secret</h4>
          <fieldset className="radio-row">
            <legend>Keep the previous secret working for</legend>
            {OVERLAPS.map((o) => (
              <label key={o.seconds} className={`radio-card${overlap === o.seconds ? ' selected' : ''}`}>
                <input
                  type="radio"
                  name="overlap"
                  value={o.seconds}
                  checked={overlap === o.seconds}
                  onChange={() => setOverlap(o.seconds)}
                />{' '}
                {o.label}
              </label>
            ))}
          </fieldset>
          <ErrorAlert error={rotate.error} title="The secret was not rotated" />
          <button type="submit" className="btn btn-primary" disabled={rotate.busy}>
            {rotate.busy ? 'Rotating…' : 'Rotate secret'}
          </button>
        </form>
      )}

      <h3>Workspace scope</h3>
      {canWrite ? (
        <form onSubmit={submitScope} aria-label={`Workspace scope of ${d.name}`}>
          <WorkspacePicker
            api={api}
            idPrefix="sp-scope"
            legend={`Workspaces ${d.name} may fetch data keys for`}
            selected={scope}
            onToggle={toggle}
          />
          <button type="submit" className="btn" disabled={update.busy}>
            Save scope
          </button>
        </form>
      ) : (
        <p>{d.workspaceIds.length} workspace(s).</p>
      )}

      <PrincipalReasonsField api={api} principalId={principalId} name={d.name} canWrite={canWrite} />

      <h3>Allowed networks</h3>
      {canWrite ? (
        <form onSubmit={submitNetworks}>
          <div className="field">
            <label htmlFor="sp-networks">Networks it may call from (CIDR, one per line; empty = anywhere)</label>
            <textarea
              id="sp-networks"
              className="mono"
              rows={3}
              value={networks}
              spellCheck={false}
              aria-describedby="sp-networks-help"
              onChange={(e) => setNetworks(e.target.value)}
            />
            <p id="sp-networks-help" className="help">
              For example 10.20.0.0/16. Checked when the service asks for a token and on every data-key request.
            </p>
          </div>
          <button type="submit" className="btn" disabled={update.busy}>
            Save networks
          </button>
        </form>
      ) : (
        <p>{d.ipAllowList.length ? d.ipAllowList.join(', ') : 'Anywhere'}</p>
      )}

      <h3>Client certificate</h3>
      {canWrite ? (
        <form onSubmit={submitCertificate}>
          <div className="field">
            <label htmlFor="sp-certificate">
              SHA-256 fingerprint of the only client certificate it may use (empty = any)
            </label>
            <input
              id="sp-certificate"
              className="mono"
              value={certificate}
              spellCheck={false}
              aria-describedby="sp-certificate-help"
              onChange={(e) => setCertificate(e.target.value)}
            />
            <p id="sp-certificate-help" className="help">
              With mutual TLS on Keyhold&apos;s internal listener, the service&apos;s tokens are refused over any other
              certificate. Colons are allowed (openssl x509 -noout -fingerprint -sha256).
            </p>
          </div>
          <button type="submit" className="btn" disabled={update.busy}>
            Save certificate
          </button>
        </form>
      ) : (
        <p>
          {d.clientCertificateSha256 ? <code className="value">{d.clientCertificateSha256}</code> : 'Any (not bound)'}
        </p>
      )}

      {canWrite && (
        <div className="danger-zone">
          <h3>Delete</h3>
          <ErrorAlert error={remove.error} title="The service principal was not deleted" />
          {confirmDelete ? (
            <div role="alertdialog" aria-labelledby="delete-confirm" className="banner banner-bad">
              <p id="delete-confirm">
                Delete “{d.name}”? Its secrets and the tokens it holds stop working at once. This cannot be undone.
              </p>
              <button type="button" className="btn btn-danger" disabled={remove.busy} onClick={() => void remove.run()}>
                Yes, delete “{d.name}”
              </button>{' '}
              <button type="button" className="btn" onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
            </div>
          ) : (
            <button type="button" className="btn btn-danger" onClick={() => setConfirmDelete(true)}>
              Delete service principal…
            </button>
          )}
        </div>
      )}
      <p>
        <button type="button" className="btn btn-quiet" onClick={props.onClose}>
          Close
        </button>
      </p>
    </section>
  );
}

function formatDate(at: string): string {
  const t = new Date(at);
  return Number.isNaN(t.getTime()) ? at : t.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
