import { useState, type SubmitEvent } from 'react';
import { ErrorAlert } from '../components/Alert';
import { NewPasswordFields } from '../components/NewPasswordFields';
import { useConsole } from '../context';
import { useAction } from '../hooks';

/** The signed-in user's password. A change ends every session of the user, this one too: sign in again. */
export function AccountPage({ onPasswordChanged }: { onPasswordChanged: () => void }) {
  const { api, session } = useConsole();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const change = useAction(async () => {
    const [c, n] = [current, next];
    setCurrent('');
    await api.changePassword(c, n);
    setNext('');
    setRepeat('');
    onPasswordChanged();
  });
  function submit(e: SubmitEvent) {
    e.preventDefault();
    void change.run();
  }
  return (
    <section>
      <h1>Your account</h1>
      <p className="lede">
        Signed in as <strong>{session.email}</strong>.
      </p>
      <form className="card inline-form" onSubmit={submit} aria-labelledby="pw-title">
        <h2 id="pw-title">Change your password</h2>
        <p className="muted">
          Changing it signs you out everywhere, including here; sign in again with the new password.
        </p>
        <div className="field">
          <label htmlFor="current-password">Current password</label>
          <input
            id="current-password"
            type="password"
            autoComplete="current-password"
            required
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
          />
        </div>
        <NewPasswordFields password={next} repeat={repeat} onPassword={setNext} onRepeat={setRepeat} />
        <ErrorAlert error={change.error} title="The password was not changed" />
        <button
          className="btn btn-primary"
          type="submit"
          disabled={change.busy || !current || next.length < 12 || next !== repeat}
        >
          {change.busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
    </section>
  );
}
