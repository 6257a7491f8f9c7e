import { CopyButton } from './CopyButton';

/** Recovery codes, shown once: each works once, in place of a factor. */
export function RecoveryCodes({ codes }: { codes: string[] }) {
  return (
    <section className="card" aria-labelledby="recovery-title">
      <h2 id="recovery-title">Your recovery codes</h2>
      <p>
        Keep these somewhere safe, away from your devices. Each code signs you in once if you lose your authenticator.
        They are shown only now; Keyhold stores only a fingerprint of each.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <CopyButton value={codes.join('\n')} label="the recovery codes" />
    </section>
  );
}
