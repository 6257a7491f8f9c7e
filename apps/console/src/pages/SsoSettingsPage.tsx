import { useEffect, useState, type SubmitEvent } from 'react';
import { SsoApi, type SsoConfiguration } from '../api/sso';
import type { AdminUser } from '../api/types';
import { ErrorAlert, Notice } from '../components/Alert';
import { TextField } from '../components/TextField';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { useTenantQuery } from '../api/queries';

const list = (v: string) =>
  v
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * Single sign-on for the tenant (OpenID Connect): key admins set the IdP, the allowed email domains and which IdP
 * groups give which role; auditors see the settings read-only. The client secret is write-only: the API only says
 * that one is stored.
 */
export function SsoSettingsPage() {
  const { api, session, canWrite } = useConsole();
  const sso = new SsoApi(session.token, session.tenantId);
  const loaded = useTenantQuery(['sso', canWrite], async () => {
    const [current, users] = await Promise.all([
      sso.get(),
      canWrite ? api.listAdminUsers() : Promise.resolve([] as AdminUser[]),
    ]);
    return { config: current.configured ? current : null, redirectUri: current.redirectUri, users };
  });
  const config = loaded.data?.config ?? null;
  const keyAdmins = (loaded.data?.users ?? []).filter((u) => u.role === 'key_admin' && !u.disabled);

  const [issuer, setIssuer] = useState('');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [domains, setDomains] = useState('');
  const [groupsClaim, setGroupsClaim] = useState('groups');
  const [adminGroups, setAdminGroups] = useState('');
  const [auditorGroups, setAuditorGroups] = useState('');
  const [required, setRequired] = useState(false);
  const [breakGlass, setBreakGlass] = useState('');
  const [saved, setSaved] = useState<SsoConfiguration | null>(null);

  useEffect(() => {
    if (!config) return;
    setIssuer(config.issuer);
    setClientId(config.clientId);
    setDomains(config.allowedEmailDomains.join(', '));
    setGroupsClaim(config.groupsClaim);
    setAdminGroups(
      config.roleMappings
        .filter((m) => m.role === 'key_admin')
        .map((m) => m.group)
        .join(', '),
    );
    setAuditorGroups(
      config.roleMappings
        .filter((m) => m.role === 'auditor')
        .map((m) => m.group)
        .join(', '),
    );
    setRequired(config.ssoRequired);
    setBreakGlass(config.breakGlassAdminUserId ?? '');
  }, [config]);

  const save = useAction(async () => {
    const secret = clientSecret;
    setClientSecret('');
    const r = await sso.put({
      issuer: issuer.trim(),
      clientId: clientId.trim(),
      ...(secret ? { clientSecret: secret } : {}),
      allowedEmailDomains: list(domains),
      groupsClaim: groupsClaim.trim() || 'groups',
      roleMappings: [
        ...list(adminGroups).map((group) => ({ group, role: 'key_admin' as const })),
        ...list(auditorGroups).map((group) => ({ group, role: 'auditor' as const })),
      ],
      ssoRequired: required,
      breakGlassAdminUserId: breakGlass || null,
    });
    setSaved(r);
  }, [['sso']]);
  const remove = useAction(async () => {
    await sso.remove();
    setSaved(null);
  }, [['sso']]);

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void save.run();
  }

  if (loaded.loading && !loaded.data) return <p role="status">Loading…</p>;
  const redirectUri = loaded.data?.redirectUri ?? '';
  return (
    <section>
      <h1>Single sign-on</h1>
      <p className="lede">
        Let your people sign in through your identity provider (OpenID Connect). Users are created on their first
        sign-in, with the role their groups map to.
      </p>
      <ErrorAlert error={loaded.error} title="The SSO settings could not be loaded" />
      <div className="card">
        <h2>Register Keyhold at your identity provider</h2>
        <p>
          Create a confidential web application (authorization code flow with PKCE) with this redirect URI, and include
          the users’ groups in the ID token.
        </p>
        <p>
          Redirect URI: <code className="mono">{redirectUri}</code>
        </p>
        <p className="muted">
          Status:{' '}
          {config ? (
            <strong>configured{config.ssoRequired ? ', SSO required' : ''}</strong>
          ) : (
            <strong>not configured</strong>
          )}
        </p>
      </div>
      {saved && <Notice>The SSO settings were saved (version {saved.version}).</Notice>}
      {canWrite ? (
        <form className="card" onSubmit={submit} aria-labelledby="sso-form-title">
          <h2 id="sso-form-title">Identity provider</h2>
          <TextField
            id="sso-issuer"
            label="Issuer URL"
            value={issuer}
            onChange={setIssuer}
            required
            mono
            placeholder="https://login.example.com/realms/acme"
            help="The https URL your provider publishes its OpenID configuration under."
          />
          <TextField id="sso-client-id" label="Client id" value={clientId} onChange={setClientId} required mono />
          <TextField
            id="sso-client-secret"
            label="Client secret"
            type="password"
            value={clientSecret}
            onChange={setClientSecret}
            required={!config}
            help={
              config
                ? 'A secret is stored and never shown. Leave empty to keep it.'
                : 'Stored encrypted and never shown again.'
            }
          />
          <TextField
            id="sso-domains"
            label="Allowed email domains"
            value={domains}
            onChange={setDomains}
            required
            help="Comma-separated, e.g. example.com. Subdomains are not included."
          />
          <TextField
            id="sso-groups-claim"
            label="Groups claim"
            value={groupsClaim}
            onChange={setGroupsClaim}
            mono
            help="The ID token claim that lists the user's groups."
          />
          <TextField
            id="sso-admin-groups"
            label="Groups that make a key admin"
            value={adminGroups}
            onChange={setAdminGroups}
            help="Comma-separated group names."
          />
          <TextField
            id="sso-auditor-groups"
            label="Groups that make an auditor"
            value={auditorGroups}
            onChange={setAuditorGroups}
            help="Comma-separated. Users in no mapped group are refused."
          />
          <div className="field">
            <ul className="checklist">
              <li>
                <label>
                  <input
                    type="checkbox"
                    checked={required}
                    onChange={(e) => setRequired(e.target.checked)}
                    aria-describedby="sso-required-help"
                  />{' '}
                  Require single sign-on
                </label>
              </li>
            </ul>
            <p id="sso-required-help" className="muted small">
              Password sign-in is refused for everyone except the break-glass key admin below.
            </p>
          </div>
          <div className="field">
            <label htmlFor="sso-break-glass">Break-glass key admin</label>
            <select
              id="sso-break-glass"
              value={breakGlass}
              onChange={(e) => setBreakGlass(e.target.value)}
              aria-describedby="sso-break-glass-help"
            >
              <option value="">None</option>
              {keyAdmins.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.email}
                </option>
              ))}
            </select>
            <p id="sso-break-glass-help" className="muted small">
              May still sign in with a password when the identity provider is unavailable. Required when SSO is
              required.
            </p>
          </div>
          <ErrorAlert error={save.error} title="The SSO settings were not saved" />
          <button className="btn btn-primary" type="submit" disabled={save.busy}>
            {save.busy ? 'Checking the provider…' : 'Save SSO settings'}
          </button>
        </form>
      ) : (
        config && (
          <dl className="card">
            <dt>Issuer</dt>
            <dd>
              <code>{config.issuer}</code>
            </dd>
            <dt>Client id</dt>
            <dd>
              <code>{config.clientId}</code>
            </dd>
            <dt>Allowed email domains</dt>
            <dd>{config.allowedEmailDomains.join(', ')}</dd>
            <dt>Group mappings</dt>
            <dd>
              {config.roleMappings
                .map((m) => `${m.group} → ${m.role === 'key_admin' ? 'key admin' : 'auditor'}`)
                .join(', ')}
            </dd>
          </dl>
        )
      )}
      {canWrite && config && (
        <div className="card">
          <h2>Remove single sign-on</h2>
          <p className="muted">Everyone signs in with a password again; users created by SSO keep their accounts.</p>
          <ErrorAlert error={remove.error} title="SSO was not removed" />
          <button type="button" className="btn btn-danger" onClick={() => void remove.run()} disabled={remove.busy}>
            Remove SSO
          </button>
        </div>
      )}
    </section>
  );
}
