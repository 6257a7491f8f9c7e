import { useState, type SubmitEvent } from 'react';
import type { MfaFactor, MfaPolicy, TotpSetup } from '../api/types';
import { ErrorAlert, Notice } from '../components/Alert';
import { RecoveryCodes } from '../components/RecoveryCodes';
import { createPasskey } from '../components/webauthn';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { TotpSecret } from './MfaSignInStep';
import { useMfaStatus } from '../api/queries';

const POLICY_TEXT: Record<MfaPolicy, string> = {
  none: 'Optional: each admin decides whether to add a second factor',
  mfa_required: 'Required: every admin needs a passkey or an authenticator app',
  passkey_required_for_key_admins: 'Required, and key admins must use a passkey (phishing-resistant)',
};

/**
 * The signed-in admin's sign-in factors: passkeys, an authenticator app (TOTP), recovery codes; and, for key admins,
 * the tenant's MFA policy. Adding or removing a factor needs a recent sign-in (the API says so in words otherwise).
 */
export function SecurityPage() {
  const { api, session } = useConsole();
  const status = useMfaStatus();
  const [codes, setCodes] = useState<string[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [passkeyLabel, setPasskeyLabel] = useState('');
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState('');

  const added = (what: string, r: { recoveryCodes?: string[] }) => {
    setNotice(`${what} was added.`);
    setCodes(r.recoveryCodes ?? null);
    status.reload();
  };
  const addPasskey = useAction(async () => {
    setNotice(null);
    const options = await api.passkeyRegistrationOptions();
    const label = passkeyLabel.trim() || 'Passkey';
    added(`The passkey “${label}”`, await api.registerPasskey(await createPasskey(options), label));
    setPasskeyLabel('');
  });
  const startTotp = useAction(async () => {
    setNotice(null);
    setSetup(await api.startTotp('Authenticator app'));
  });
  const confirmTotp = useAction(async () => {
    const c = code.replace(/\s/g, '');
    setCode('');
    added('The authenticator app', await api.confirmTotp(setup!.factorId, c));
    setSetup(null);
  });
  const remove = useAction(async (f: MfaFactor) => {
    setNotice(null);
    await api.removeFactor(f.id);
    setNotice(`“${f.label}” was removed.`);
    status.reload();
  });
  const regenerate = useAction(async () => {
    setNotice(null);
    setCodes((await api.regenerateRecoveryCodes()).recoveryCodes);
    status.reload();
  });

  const factors = status.data?.factors ?? [];
  return (
    <section>
      <h1>Security</h1>
      <p className="lede">
        A second factor keeps your account safe if your password leaks. Passkeys are the strongest: they cannot be
        phished. Signed in as <strong>{session.email}</strong>.
      </p>
      <ErrorAlert error={status.error} title="Could not load your factors" />
      {notice && <Notice>{notice}</Notice>}
      {codes && <RecoveryCodes codes={codes} />}

      <section aria-labelledby="factors-title">
        <h2 id="factors-title">Your sign-in factors</h2>
        <ErrorAlert error={remove.error} title="The factor was not removed" />
        {status.data && factors.length === 0 && (
          <p className="empty">No second factor yet: your password alone signs you in.</p>
        )}
        {factors.length > 0 && (
          <table className="factors">
            <caption className="visually-hidden">Your sign-in factors</caption>
            <thead>
              <tr>
                <th scope="col">Factor</th>
                <th scope="col">Kind</th>
                <th scope="col">Added</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {factors.map((f) => (
                <tr key={f.id} data-factor={f.kind}>
                  <th scope="row">{f.label}</th>
                  <td>{f.kind === 'passkey' ? 'Passkey' : 'Authenticator app'}</td>
                  <td className="nowrap">{formatDate(f.createdAt)}</td>
                  <td className="nowrap">{f.lastUsedAt ? formatDate(f.lastUsedAt) : 'Never'}</td>
                  <td>
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      disabled={remove.busy}
                      onClick={() => void remove.run(f)}
                      aria-label={`Remove ${f.label}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <form
        className="card inline-form"
        aria-labelledby="passkey-title"
        onSubmit={(e: SubmitEvent) => {
          e.preventDefault();
          void addPasskey.run();
        }}
      >
        <h2 id="passkey-title">Add a passkey</h2>
        <p className="muted">Your device or security key asks you to confirm with a fingerprint, face or PIN.</p>
        <div className="field">
          <label htmlFor="passkey-label">Name for this passkey</label>
          <input
            id="passkey-label"
            maxLength={64}
            placeholder="e.g. Work laptop"
            value={passkeyLabel}
            onChange={(e) => setPasskeyLabel(e.target.value)}
          />
        </div>
        <ErrorAlert error={addPasskey.error} title="The passkey was not added" />
        <button type="submit" className="btn btn-primary" disabled={addPasskey.busy}>
          {addPasskey.busy ? 'Waiting for your passkey…' : 'Add a passkey'}
        </button>
      </form>

      <section className="card inline-form" aria-labelledby="totp-title">
        <h2 id="totp-title">Authenticator app</h2>
        {!setup && (
          <>
            <p className="muted">A 6-digit code from an app such as 1Password, Google Authenticator or Authy.</p>
            <ErrorAlert error={startTotp.error} title="The set-up did not start" />
            <button type="button" className="btn" disabled={startTotp.busy} onClick={() => void startTotp.run()}>
              Set up an authenticator app
            </button>
          </>
        )}
        {setup && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void confirmTotp.run();
            }}
            aria-label="Confirm the authenticator app"
          >
            <TotpSecret setup={setup} />
            <div className="field">
              <label htmlFor="totp-code">6-digit code from the app</label>
              <input
                id="totp-code"
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={7}
                required
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
            </div>
            <ErrorAlert error={confirmTotp.error} title="The code was not accepted" />
            <button
              type="submit"
              className="btn btn-primary"
              disabled={confirmTotp.busy || code.replace(/\s/g, '').length !== 6}
            >
              Confirm
            </button>
          </form>
        )}
      </section>

      <section className="card inline-form" aria-labelledby="codes-title">
        <h2 id="codes-title">Recovery codes</h2>
        <p>
          {status.data
            ? `${status.data.recoveryCodesRemaining} unused recovery code${status.data.recoveryCodesRemaining === 1 ? '' : 's'} left.`
            : ''}{' '}
          New codes replace all the old ones.
        </p>
        <ErrorAlert error={regenerate.error} title="No new codes were made" />
        <button
          type="button"
          className="btn"
          disabled={regenerate.busy || factors.length === 0}
          onClick={() => void regenerate.run()}
        >
          Generate new recovery codes
        </button>
      </section>

      {session.role === 'key_admin' && status.data && (
        <PolicyForm current={status.data.policy} onSaved={status.reload} />
      )}
    </section>
  );
}

function PolicyForm({ current, onSaved }: { current: MfaPolicy; onSaved: () => void }) {
  const { api } = useConsole();
  const [policy, setPolicy] = useState<MfaPolicy>(current);
  const [saved, setSaved] = useState(false);
  const save = useAction(async () => {
    setSaved(false);
    await api.setMfaPolicy(policy);
    setSaved(true);
    onSaved();
  });
  return (
    <form
      className="card inline-form"
      aria-labelledby="policy-title"
      onSubmit={(e) => {
        e.preventDefault();
        void save.run();
      }}
    >
      <h2 id="policy-title">Tenant sign-in policy</h2>
      <p className="muted">
        Applies to every admin of this tenant from their next sign-in. Admins without a required factor are asked to add
        one when they sign in.
      </p>
      <div className="field">
        <label htmlFor="mfa-policy">Second factor</label>
        <select id="mfa-policy" value={policy} onChange={(e) => setPolicy(e.target.value as MfaPolicy)}>
          {(Object.keys(POLICY_TEXT) as MfaPolicy[]).map((p) => (
            <option key={p} value={p}>
              {POLICY_TEXT[p]}
            </option>
          ))}
        </select>
      </div>
      <ErrorAlert error={save.error} title="The policy was not saved" />
      {saved && <Notice>The policy was saved.</Notice>}
      <button type="submit" className="btn btn-primary" disabled={save.busy || policy === current}>
        Save policy
      </button>
    </form>
  );
}

function formatDate(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
