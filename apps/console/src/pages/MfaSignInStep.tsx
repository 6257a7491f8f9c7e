import { useEffect, useState, type SubmitEvent } from 'react';
import QRCode from 'qrcode';
import { ApiClient } from '../api/client';
import type { MfaChallenge, TokenResponse, TotpSetup } from '../api/types';
import { ErrorAlert } from '../components/Alert';
import { RecoveryCodes } from '../components/RecoveryCodes';
import { createPasskey, signWithPasskey } from '../components/webauthn';
import { useAction } from '../hooks';

/**
 * The second step of sign-in, after a right password for an account with MFA (or in a tenant that requires it).
 * `verify`: a passkey, a code from an authenticator app, or a recovery code — whichever the API offers. `enrol`: the
 * tenant requires a factor this account does not have yet; enrolling one signs in and shows the recovery codes once.
 */
export function MfaSignInStep({
  challenge,
  onSignedIn,
  onCancel,
}: {
  challenge: MfaChallenge;
  onSignedIn: (t: TokenResponse) => void;
  onCancel: () => void;
}) {
  const [codes, setCodes] = useState<{ token: TokenResponse; codes: string[] } | null>(null);
  const done = (t: TokenResponse) =>
    t.recovery_codes?.length ? setCodes({ token: t, codes: t.recovery_codes }) : onSignedIn(t);
  if (codes) {
    return (
      <>
        <h1>Save your recovery codes</h1>
        <RecoveryCodes codes={codes.codes} />
        <button type="button" className="btn btn-primary" onClick={() => onSignedIn(codes.token)}>
          I saved them — continue
        </button>
      </>
    );
  }
  return challenge.mfa_mode === 'verify' ? (
    <Verify challenge={challenge} onDone={done} onCancel={onCancel} />
  ) : (
    <Enrol challenge={challenge} onDone={done} onCancel={onCancel} />
  );
}

type StepProps = { challenge: MfaChallenge; onDone: (t: TokenResponse) => void; onCancel: () => void };

function Verify({ challenge, onDone, onCancel }: StepProps) {
  const token = challenge.mfa_token;
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState('');
  const passkey = useAction(async () => {
    const options = await ApiClient.mfaStep('passkey/options', { mfa_token: token });
    onDone(await ApiClient.mfaStep('passkey', { mfa_token: token, credential: await signWithPasskey(options) }));
  });
  const totp = useAction(async () => {
    const c = code.replace(/\s/g, '');
    setCode('');
    onDone(await ApiClient.mfaStep('totp', { mfa_token: token, code: c }));
  });
  const rc = useAction(async () => {
    const c = recovery.trim();
    setRecovery('');
    onDone(await ApiClient.mfaStep('recovery-code', { mfa_token: token, code: c }));
  });
  const submit = (run: () => Promise<unknown>) => (e: SubmitEvent) => {
    e.preventDefault();
    void run();
  };
  return (
    <>
      <h1>Confirm it is you</h1>
      <p className="muted">Your password was right. Finish signing in with your second factor.</p>
      {challenge.methods.includes('passkey') && (
        <section aria-labelledby="mfa-passkey">
          <h2 id="mfa-passkey">Passkey</h2>
          <ErrorAlert error={passkey.error} title="The passkey did not sign you in" />
          <button type="button" className="btn btn-primary" disabled={passkey.busy} onClick={() => void passkey.run()}>
            {passkey.busy ? 'Waiting for your passkey…' : 'Use your passkey'}
          </button>
        </section>
      )}
      {challenge.methods.includes('totp') && (
        <form onSubmit={submit(totp.run)} aria-labelledby="mfa-totp">
          <h2 id="mfa-totp">Authenticator app</h2>
          <div className="field">
            <label htmlFor="mfa-code">6-digit code</label>
            <input
              id="mfa-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 ]{6,7}"
              maxLength={7}
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </div>
          <ErrorAlert error={totp.error} title="The code did not sign you in" />
          <button type="submit" className="btn" disabled={totp.busy || code.replace(/\s/g, '').length !== 6}>
            Verify code
          </button>
        </form>
      )}
      {challenge.methods.includes('recovery_code') && (
        <details>
          <summary>Use a recovery code</summary>
          <form onSubmit={submit(rc.run)} aria-label="Recovery code">
            <div className="field">
              <label htmlFor="mfa-recovery">Recovery code</label>
              <input
                id="mfa-recovery"
                autoComplete="off"
                spellCheck={false}
                required
                value={recovery}
                onChange={(e) => setRecovery(e.target.value)}
              />
            </div>
            <ErrorAlert error={rc.error} title="The recovery code did not sign you in" />
            <button type="submit" className="btn" disabled={rc.busy || !recovery.trim()}>
              Use recovery code
            </button>
          </form>
        </details>
      )}
      <p>
        <button type="button" className="btn btn-quiet" onClick={onCancel}>
          Start over
        </button>
      </p>
    </>
  );
}

function Enrol({ challenge, onDone, onCancel }: StepProps) {
  const token = challenge.mfa_token;
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState('');
  const passkey = useAction(async () => {
    const options = await ApiClient.mfaStep('enrol/passkey/options', { mfa_token: token });
    onDone(
      await ApiClient.mfaStep('enrol/passkey', {
        mfa_token: token,
        credential: await createPasskey(options),
        label: 'Passkey',
      }),
    );
  });
  const start = useAction(async () => setSetup(await ApiClient.mfaStep('enrol/totp', { mfa_token: token })));
  const confirm = useAction(async () => {
    const c = code.replace(/\s/g, '');
    setCode('');
    onDone(await ApiClient.mfaStep('enrol/totp/confirm', { mfa_token: token, factorId: setup!.factorId, code: c }));
  });
  const passkeyOnly = !challenge.methods.includes('totp');
  return (
    <>
      <h1>Set up a second factor</h1>
      <p className="muted">
        {passkeyOnly
          ? 'Your tenant requires key admins to sign in with a passkey. Register one now to finish signing in.'
          : 'Your tenant requires a second factor. Register a passkey or an authenticator app to finish signing in.'}
      </p>
      <ErrorAlert error={passkey.error} title="The passkey was not registered" />
      <button type="button" className="btn btn-primary" disabled={passkey.busy} onClick={() => void passkey.run()}>
        {passkey.busy ? 'Waiting for your passkey…' : 'Register a passkey'}
      </button>
      {!passkeyOnly && !setup && (
        <p>
          <button type="button" className="btn" disabled={start.busy} onClick={() => void start.run()}>
            Use an authenticator app instead
          </button>
        </p>
      )}
      <ErrorAlert error={start.error} title="The set-up did not start" />
      {setup && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void confirm.run();
          }}
          aria-labelledby="enrol-totp"
        >
          <h2 id="enrol-totp">Authenticator app</h2>
          <TotpSecret setup={setup} />
          <div className="field">
            <label htmlFor="enrol-code">6-digit code from the app</label>
            <input
              id="enrol-code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={7}
              required
              value={code}
              onChange={(e) => setCode(e.target.value)}
            />
          </div>
          <ErrorAlert error={confirm.error} title="The code was not accepted" />
          <button
            type="submit"
            className="btn btn-primary"
            disabled={confirm.busy || code.replace(/\s/g, '').length !== 6}
          >
            Confirm and sign in
          </button>
        </form>
      )}
      <p>
        <button type="button" className="btn btn-quiet" onClick={onCancel}>
          Start over
        </button>
      </p>
    </>
  );
}

/**
 * The TOTP secret as a QR code for an authenticator app to scan, for manual entry, and as an otpauth:// link (opens
 * an app on the same device). Drawn in the browser: the secret goes nowhere else.
 */
export function TotpSecret({ setup }: { setup: TotpSetup }) {
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(setup.otpauthUri, { margin: 1, width: 176, errorCorrectionLevel: 'M' }).then(
      (url) => live && setQr(url),
      () => live && setQr(null),
    );
    return () => {
      live = false;
    };
  }, [setup.otpauthUri]);
  return (
    <div className="facts">
      {qr && (
        <img
          className="totp-qr"
          src={qr}
          width={176}
          height={176}
          alt="QR code of your authenticator key: scan it with your authenticator app"
        />
      )}
      <p>
        Or type this key into your authenticator app (it is shown only now):{' '}
        <code className="totp-secret" data-totp-secret={setup.secret}>
          {setup.secret.replace(/(.{4})/g, '$1 ').trim()}
        </code>
      </p>
      <p className="small">
        Or <a href={setup.otpauthUri}>open it in an authenticator app on this device</a>.
      </p>
    </div>
  );
}
