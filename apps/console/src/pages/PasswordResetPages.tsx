import { useState, type SubmitEvent } from 'react';
import { ApiClient } from '../api/client';
import { ErrorAlert, Notice } from '../components/Alert';
import { NewPasswordFields } from '../components/NewPasswordFields';
import { PublicCard } from '../components/PublicCard';
import { useAction } from '../hooks';

/** "Forgot your password?": always the same answer, whether or not the account exists. */
export function ForgotPasswordPage() {
  const [tenantId, setTenantId] = useState('');
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState(false);
  const request = useAction(async () => {
    await ApiClient.requestPasswordReset(tenantId.trim(), email.trim());
    setSent(true);
  });
  function submit(e: SubmitEvent) {
    e.preventDefault();
    void request.run();
  }
  return (
    <PublicCard>
      <h1>Reset your password</h1>
      {sent ? (
        <Notice>
          If this account exists, a single-use reset link is on its way to its email address. It works for one hour.
        </Notice>
      ) : (
        <form onSubmit={submit}>
          <div className="field">
            <label htmlFor="reset-tenant">Tenant id</label>
            <input
              id="reset-tenant"
              required
              spellCheck={false}
              autoComplete="organization"
              value={tenantId}
              onChange={(e) => setTenantId(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor="reset-email">Email</label>
            <input
              id="reset-email"
              type="email"
              required
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </div>
          <ErrorAlert error={request.error} title="The request was not sent" />
          <button className="btn btn-primary" type="submit" disabled={request.busy}>
            Email me a reset link
          </button>
        </form>
      )}
      <p>
        <a href="#/">Back to sign-in</a>
      </p>
    </PublicCard>
  );
}

/** Reached from the emailed reset link (`#/reset-password/<token>`). Every session of the user ends. */
export function ResetPasswordPage({ token }: { token: string }) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState(false);
  const reset = useAction(async () => {
    await ApiClient.completePasswordReset(token, password);
    setPassword('');
    setRepeat('');
    setDone(true);
  });
  function submit(e: SubmitEvent) {
    e.preventDefault();
    void reset.run();
  }
  return (
    <PublicCard>
      <h1>Choose a new password</h1>
      {done ? (
        <>
          <Notice>Your password was changed and every earlier session was signed out.</Notice>
          <a className="btn btn-primary" href="#/">
            Go to sign-in
          </a>
        </>
      ) : (
        <form onSubmit={submit}>
          <NewPasswordFields password={password} repeat={repeat} onPassword={setPassword} onRepeat={setRepeat} />
          <ErrorAlert error={reset.error} title="The password was not changed" />
          <button
            className="btn btn-primary"
            type="submit"
            disabled={reset.busy || password.length < 12 || password !== repeat}
          >
            Set new password
          </button>
        </form>
      )}
    </PublicCard>
  );
}
