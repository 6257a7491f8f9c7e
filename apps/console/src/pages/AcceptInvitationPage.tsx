import { useState, type SubmitEvent } from 'react';
import { ApiClient } from '../api/client';
import { ErrorAlert, Notice } from '../components/Alert';
import { NewPasswordFields } from '../components/NewPasswordFields';
import { PublicCard } from '../components/PublicCard';
import { useAction } from '../hooks';
import { useInvitationDetails } from '../api/queries';

/**
 * Reached from the emailed invitation link (`#/accept-invitation/<token>`; the fragment never reaches a server).
 * Shows what the invitation is for, then the invitee chooses their own password; the link is used up.
 */
export function AcceptInvitationPage({ token }: { token: string }) {
  const details = useInvitationDetails(token);
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [done, setDone] = useState<{ tenantId: string; email: string } | null>(null);
  const accept = useAction(async () => {
    const r = await ApiClient.acceptInvitation(token, password);
    setPassword('');
    setRepeat('');
    setDone({ tenantId: r.tenantId, email: r.email });
  });
  function submit(e: SubmitEvent) {
    e.preventDefault();
    void accept.run();
  }
  if (done)
    return (
      <PublicCard>
        <h1>Your account is ready</h1>
        <Notice>The invitation is used up. Sign in with your email and the password you just chose.</Notice>
        <dl className="facts">
          <dt>Tenant id</dt>
          <dd>
            <code>{done.tenantId}</code>
          </dd>
          <dt>Email</dt>
          <dd>{done.email}</dd>
        </dl>
        <a className="btn btn-primary" href="#/">
          Go to sign-in
        </a>
      </PublicCard>
    );
  return (
    <PublicCard>
      <h1>Accept your invitation</h1>
      <ErrorAlert error={details.error} title="This invitation cannot be used" />
      {details.loading && !details.data && <p aria-live="polite">Checking the invitation…</p>}
      {details.data && (
        <>
          <p>
            You are invited to <strong>{details.data.tenantName}</strong> as{' '}
            <strong>{details.data.role === 'key_admin' ? 'a key admin' : 'an auditor'}</strong>, with the email address{' '}
            <strong>{details.data.email}</strong>.
          </p>
          <form onSubmit={submit}>
            <NewPasswordFields password={password} repeat={repeat} onPassword={setPassword} onRepeat={setRepeat} />
            <ErrorAlert error={accept.error} title="The invitation was not accepted" />
            <button
              className="btn btn-primary"
              type="submit"
              disabled={accept.busy || password.length < 12 || password !== repeat}
            >
              {accept.busy ? 'Setting your password…' : 'Set password and accept'}
            </button>
          </form>
        </>
      )}
    </PublicCard>
  );
}
