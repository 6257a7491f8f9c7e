import { useState, type SubmitEvent } from 'react';
import { ApiClient } from '../api/client';
import { ErrorAlert } from '../components/Alert';
import { useAction } from '../hooks';
import { roleFromToken, type Session } from '../session';
import type { MfaChallenge, TokenResponse } from '../api/types';
import { MfaSignInStep } from './MfaSignInStep';

/** Tenant id + email + password → password grant. The password is dropped from state as soon as it is sent. */
export function SignInPage({ onSignedIn, expired }: { onSignedIn: (s: Session) => void; expired: boolean }) {
  const [tenantId, setTenantId] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // Set when the password was right but a second factor is due (MfaSignInStep); never a session by itself.
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const finish = (t: TokenResponse) =>
    onSignedIn({
      token: t.access_token,
      tenantId: tenantId.trim(),
      email: email.trim(),
      role: roleFromToken(t.access_token),
      // Leave a little slack so a request is never sent with a token about to expire in flight.
      expiresAt: Date.now() + Math.max(0, t.expires_in - 5) * 1000,
    });
  const signIn = useAction(async () => {
    const pw = password;
    setPassword('');
    const t = await ApiClient.signIn(tenantId.trim(), email.trim(), pw);
    if ('mfa_required' in t) setChallenge(t);
    else finish(t);
  });

  function submit(e: SubmitEvent) {
    e.preventDefault();
    void signIn.run();
  }

  if (challenge)
    return (
      <div className="signin">
        <main className="signin-card" id="main">
          <p className="brand">
            <span aria-hidden="true" className="brand-mark">
              ◆
            </span>{' '}
            Keyhold
          </p>
          <MfaSignInStep challenge={challenge} onSignedIn={finish} onCancel={() => setChallenge(null)} />
        </main>
      </div>
    );

  return (
    <div className="signin">
      <main className="signin-card" id="main">
        <p className="brand">
          <span aria-hidden="true" className="brand-mark">
            ◆
          </span>{' '}
          Keyhold
        </p>
        <h1>Sign in to your tenant</h1>
        <p className="muted">Manage the customer-managed keys that protect your workspaces.</p>
        {expired && (
          <div className="alert alert-warn" role="alert">
            Your session ended. Sign in again to continue.
          </div>
        )}
        <form onSubmit={submit} noValidate={false}>
          <div className="field">
            <label htmlFor="tenant">Tenant id</label>
            <input
              id="tenant"
              name="tenant"
              required
              autoComplete="organization"
              spellCheck={false}
              value={tenantId}
              onChange={(e) => setTenantId(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="email">Email</label>
            <input
              id="email"
              name="email"
              type="email"
              required
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              required
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          <ErrorAlert error={signIn.error} title="Sign-in failed" />
          <button className="btn btn-primary" type="submit" disabled={signIn.busy}>
            {signIn.busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p>
          <a href="#/forgot-password">Forgot your password?</a>
        </p>
        <p>
          <a className="btn" href="#/sso-sign-in">
            Sign in with SSO
          </a>
        </p>
      </main>
    </div>
  );
}
