/**
 * "New password" and "Repeat it", with the rule stated up front (the API judges strength; this only keeps the
 * two fields in step and tells people the rule before they are refused).
 */
export function NewPasswordFields(props: {
  password: string;
  repeat: string;
  onPassword: (v: string) => void;
  onRepeat: (v: string) => void;
}) {
  const mismatch = props.repeat.length > 0 && props.repeat !== props.password;
  return (
    <>
      <div className="field">
        <label htmlFor="new-password">New password</label>
        <input
          id="new-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          aria-describedby="new-password-help"
          value={props.password}
          onChange={(e) => props.onPassword(e.target.value)}
        />
        <p id="new-password-help" className="help">
          At least 12 characters. A long passphrase is best; avoid common passwords and your email address.
        </p>
      </div>
      <div className="field">
        <label htmlFor="repeat-password">Repeat the new password</label>
        <input
          id="repeat-password"
          type="password"
          autoComplete="new-password"
          required
          aria-invalid={mismatch || undefined}
          aria-describedby={mismatch ? 'repeat-password-error' : undefined}
          value={props.repeat}
          onChange={(e) => props.onRepeat(e.target.value)}
        />
        {mismatch && (
          <p id="repeat-password-error" className="help field-error">
            The two passwords are not the same.
          </p>
        )}
      </div>
    </>
  );
}
