import { useState, type SubmitEvent } from 'react';
import type { AdminRole, AdminUser, Invitation, InvitationSent } from '../api/types';
import { ErrorAlert, Notice } from '../components/Alert';
import { TextField } from '../components/TextField';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { useAdminUsers, useInvitations, type Loaded } from '../api/queries';

const ROLE_NAME: Record<AdminRole, string> = { key_admin: 'Key admin', auditor: 'Auditor' };

/**
 * The tenant's admin users and invitations. Key admins invite people by email (the one-time link goes to the
 * invitee, never to this page), change roles, disable, enable and delete users; every such change signs the user
 * out everywhere at once. Auditors see the list only.
 */
export function UsersPage() {
  const { api, canWrite, session } = useConsole();
  const users = useAdminUsers();
  const invitations = useInvitations(canWrite);
  const [notice, setNotice] = useState<string | null>(null);
  const change = useAction(
    async (u: AdminUser, what: { role?: AdminRole; disabled?: boolean } | 'delete' | 'reset-mfa') => {
      if (what === 'reset-mfa') {
        const r = await api.resetAdminUserMfa(u.id);
        setNotice(
          `${u.email}: ${r.factorsRemoved} sign-in factor${r.factorsRemoved === 1 ? '' : 's'} removed; signed out everywhere.`,
        );
      } else if (what === 'delete') {
        await api.deleteAdminUser(u.id);
        setNotice(`${u.email} was deleted and signed out everywhere.`);
      } else {
        await api.updateAdminUser(u.id, what);
        setNotice(
          what.disabled === true
            ? `${u.email} was disabled and signed out everywhere.`
            : what.disabled === false
              ? `${u.email} was enabled.`
              : `${u.email} is now ${ROLE_NAME[what.role!]} and was signed out everywhere.`,
        );
      }
    },
    [['admin-users']],
  );

  return (
    <section>
      <h1>Users</h1>
      <p className="lede">
        People who can administer or audit this tenant’s keys. Nobody at Keyhold knows their passwords: each person sets
        their own from an emailed, single-use invitation.
      </p>
      {notice && <Notice>{notice}</Notice>}
      <section aria-labelledby="users-list">
        <h2 id="users-list">Admin users</h2>
        <ErrorAlert error={users.error} title="Could not load users" />
        <ErrorAlert error={change.error} title="The change was not made" />
        {users.loading && !users.data && <p aria-live="polite">Loading…</p>}
        {users.data && (
          <table className="users">
            <caption className="visually-hidden">Admin users</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                {canWrite && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <UserRow
                  key={u.id}
                  user={u}
                  self={u.email === session.email.toLowerCase()}
                  canWrite={canWrite}
                  busy={change.busy}
                  onChange={(what) => void change.run(u, what)}
                />
              ))}
            </tbody>
          </table>
        )}
      </section>
      {canWrite ? (
        <Invitations invitations={invitations} />
      ) : (
        <p className="muted">Only key admins can invite people or change users.</p>
      )}
    </section>
  );
}

function UserRow(props: {
  user: AdminUser;
  self: boolean;
  canWrite: boolean;
  busy: boolean;
  onChange: (what: { role?: AdminRole; disabled?: boolean } | 'delete' | 'reset-mfa') => void;
}) {
  const { user: u } = props;
  const [confirming, setConfirming] = useState(false);
  const other: AdminRole = u.role === 'key_admin' ? 'auditor' : 'key_admin';
  return (
    <tr data-user={u.email}>
      <th scope="row">
        {u.email}
        {props.self && <span className="muted small"> (you)</span>}
      </th>
      <td>{ROLE_NAME[u.role]}</td>
      <td>
        {u.disabled ? (
          <span className="badge badge-bad">Disabled</span>
        ) : (
          <span className="badge badge-ok">Active</span>
        )}
      </td>
      {props.canWrite && (
        <td className="actions">
          <button
            type="button"
            className="btn btn-small"
            disabled={props.busy}
            onClick={() => props.onChange({ role: other })}
            aria-label={`Make ${ROLE_NAME[other].toLowerCase()}: ${u.email}`}
          >
            Make {ROLE_NAME[other].toLowerCase()}
          </button>{' '}
          <button
            type="button"
            className="btn btn-small"
            disabled={props.busy}
            onClick={() => props.onChange({ disabled: !u.disabled })}
            aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`}
          >
            {u.disabled ? 'Enable' : 'Disable'}
          </button>{' '}
          {!props.self && (
            <>
              <button
                type="button"
                className="btn btn-small"
                disabled={props.busy}
                onClick={() => props.onChange('reset-mfa')}
                aria-label={`Reset MFA: ${u.email}`}
              >
                Reset MFA
              </button>{' '}
            </>
          )}
          {confirming ? (
            <span role="group" aria-label={`Confirm deleting ${u.email}`}>
              <button
                type="button"
                className="btn btn-small btn-danger"
                disabled={props.busy}
                onClick={() => props.onChange('delete')}
                autoFocus
              >
                Yes, delete {u.email}
              </button>{' '}
              <button type="button" className="btn btn-small btn-quiet" onClick={() => setConfirming(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button
              type="button"
              className="btn btn-small btn-danger"
              disabled={props.busy}
              onClick={() => setConfirming(true)}
              aria-label={`Delete ${u.email}`}
            >
              Delete
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

function Invitations({ invitations }: { invitations: Loaded<Invitation[]> }) {
  const { api } = useConsole();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<AdminRole>('auditor');
  const [sent, setSent] = useState<InvitationSent | null>(null);
  const invite = useAction(async () => {
    setSent(await api.invite(email.trim(), role));
    setEmail('');
  }, [['invitations']]);
  const revoke = useAction(
    async (id: string) => {
      await api.revokeInvitation(id);
    },
    [['invitations']],
  );
  function submit(e: SubmitEvent) {
    e.preventDefault();
    void invite.run();
  }
  return (
    <>
      <form className="card inline-form" onSubmit={submit} aria-labelledby="invite-title">
        <h2 id="invite-title">Invite someone</h2>
        <p className="muted">
          They receive a single-use link by email and choose their own password. The link is never shown here.
        </p>
        <TextField id="invite-email" label="Email" type="email" value={email} onChange={setEmail} required />
        <div className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as AdminRole)}>
            <option value="auditor">Auditor (read only)</option>
            <option value="key_admin">Key admin</option>
          </select>
        </div>
        <ErrorAlert error={invite.error} title="The invitation was not sent" />
        {sent && (
          <Notice>
            Invitation sent to {sent.email}. It can be used once, until {formatDate(sent.expiresAt)}.
          </Notice>
        )}
        <button className="btn btn-primary" type="submit" disabled={invite.busy || !email.trim()}>
          {invite.busy ? 'Sending…' : 'Send invitation'}
        </button>
      </form>
      <section aria-labelledby="inv-list">
        <h2 id="inv-list">Invitations</h2>
        <ErrorAlert error={invitations.error} title="Could not load invitations" />
        <ErrorAlert error={revoke.error} title="The invitation was not revoked" />
        {invitations.data?.length === 0 && <p className="empty">No invitations yet.</p>}
        {invitations.data && invitations.data.length > 0 && (
          <table className="invitations">
            <caption className="visually-hidden">Invitations</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Expires</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {invitations.data.map((i) => (
                <tr key={i.id} data-invitation={i.email}>
                  <th scope="row">{i.email}</th>
                  <td>{ROLE_NAME[i.role]}</td>
                  <td>
                    <span
                      className={`badge badge-${i.state === 'pending' ? 'busy' : i.state === 'accepted' ? 'ok' : 'neutral'}`}
                    >
                      {i.state ?? 'pending'}
                    </span>
                  </td>
                  <td className="nowrap">
                    <time dateTime={i.expiresAt}>{formatDate(i.expiresAt)}</time>
                  </td>
                  <td>
                    {i.state === 'pending' && (
                      <button
                        type="button"
                        className="btn btn-small btn-danger"
                        disabled={revoke.busy}
                        onClick={() => void revoke.run(i.id)}
                        aria-label={`Revoke the invitation to ${i.email}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function formatDate(at: string): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
