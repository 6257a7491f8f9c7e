import { useEffect, useState, type SubmitEvent } from 'react';
import { SsoApi, ssoLoginUrl, type SsoSession } from '../api/sso';
import type { MfaChallenge, TokenResponse } from '../api/types';
import { SSO_SUMMARIES } from '../api/sso-messages';
import { ErrorAlert } from '../components/Alert';
import { PublicCard } from '../components/PublicCard';
import type { Session } from '../session';
import { MfaSignInStep } from './MfaSignInStep';

/** "Sign in with SSO": the tenant id, then a top-level navigation to the API, which sends the browser to the IdP. */
export function SsoSignInPage() {
  const [tenantId, setTenantId] = useState('');
  function submit(e: SubmitEvent) {
    e.preventDefault();
    window.location.assign(ssoLoginUrl(tenantId.trim()));
  }
  return (
    <PublicCard>
      <h1>Sign in with SSO</h1>
      <p className="muted">You will continue at your organisation’s identity provider and come back here signed in.</p>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="sso-tenant">Tenant id</label>
          <input
            id="sso-tenant"
            name="tenant"
            required
            autoComplete="organization"
            spellCheck={false}
            value={tenantId}
            onChange={(e) => setTenantId(e.target.value)}
          />
        </div>
        <button className="btn btn-primary" type="submit" disabled={!tenantId.trim()}>
          Continue with SSO
        </button>
      </form>
      <p>
        <a href="#/">Sign in with a password instead</a>
      </p>
    </PublicCard>
  );
}

// The finished sign-in can be collected once: a second effect run (React development mode) must not spend it twice.
let collecting: Promise<SsoSession> | null = null;

const sessionOf = (who: { tenant_id: string; email: string; role: Session['role'] }, t: TokenResponse): Session => ({
  token: t.access_token,
  tenantId: who.tenant_id,
  email: who.email,
  role: who.role,
  expiresAt: Date.now() + Math.max(0, t.expires_in - 5) * 1000,
});

/**
 * Back from the IdP: collect the access token (cookie-bound, single use) and enter the console — or, when the tenant's
 * MFA policy or the user's factors ask for it, the same second step as after a password (the IdP proved the first).
 */
export function SsoCompletePage({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [error, setError] = useState<unknown>(null);
  const [second, setSecond] = useState<{ who: SsoSession; challenge: MfaChallenge } | null>(null);
  useEffect(() => {
    collecting ??= SsoApi.collectSession();
    collecting.then(
      (t) => {
        collecting = null;
        if ('mfa_required' in t) setSecond({ who: t, challenge: t });
        else onSignedIn(sessionOf(t, t));
      },
      (e: unknown) => {
        collecting = null;
        setError(e);
      },
    );
  }, [onSignedIn]);
  if (second)
    return (
      <PublicCard>
        <MfaSignInStep
          challenge={second.challenge}
          onSignedIn={(t) => onSignedIn(sessionOf(second.who, t))}
          onCancel={() => window.location.assign('#/sso-sign-in')}
        />
      </PublicCard>
    );
  return (
    <PublicCard>
      <h1>Signing you in</h1>
      {error ? (
        <>
          <ErrorAlert error={error} title="Single sign-on did not complete" />
          <p>
            <a href="#/sso-sign-in">Start again</a> · <a href="#/">Sign in with a password</a>
          </p>
        </>
      ) : (
        <p role="status">Completing single sign-on…</p>
      )}
    </PublicCard>
  );
}

/** The callback's failures land here with their code (never a token or code in the URL). */
export function SsoErrorPage({ code }: { code: string }) {
  const known = /^[A-Z_]{1,64}$/.test(code) ? code : 'UNKNOWN';
  return (
    <PublicCard>
      <h1>Single sign-on did not complete</h1>
      <div className="alert alert-error" role="alert">
        <p>{SSO_SUMMARIES[known] ?? 'The sign-in was not completed.'}</p>
        <p className="alert-detail">
          Code: <code>{known}</code>
        </p>
      </div>
      <p>
        <a href="#/sso-sign-in">Try single sign-on again</a> · <a href="#/">Sign in with a password</a>
      </p>
    </PublicCard>
  );
}
