import type { Workspace } from '../api/types';

/**
 * The banner on a workspace whose customer key stopped working. It says what happened, what it means for their
 * data and what they can do — in that order — because the reader is probably alarmed.
 */
export function KeyLossBanner({
  workspace,
  canWrite,
  onReinstate,
  busy,
}: {
  workspace: Workspace;
  canWrite: boolean;
  onReinstate: () => void;
  busy: boolean;
}) {
  if (workspace.keyState === 'shredded')
    return (
      <section className="banner banner-bad" role="alert" aria-labelledby="banner-title">
        <h2 id="banner-title">This workspace is shredded: its data cannot be decrypted</h2>
        <p>
          Your customer key became unusable to Keyhold — it was <strong>disabled</strong>,{' '}
          <strong>scheduled for deletion or deleted</strong>, or Keyhold’s <strong>access was removed</strong> — and
          repeated checks confirmed it. Keyhold has dropped every decrypted copy of this workspace’s keys and refuses to
          hand out data keys, exactly as it promises when you revoke access.
        </p>
        <p>
          <strong>If this was not intended:</strong> restore access in your cloud (re-enable the key, cancel its
          deletion, or restore the role, key policy, role assignment or IAM binding), then reinstate the workspace.
          Reinstating proves Keyhold can unwrap again before anything is served. If the key material itself was
          destroyed, the data cannot be recovered.
        </p>
        {canWrite && (
          <button type="button" className="btn btn-primary" onClick={onReinstate} disabled={busy}>
            I restored access — reinstate
          </button>
        )}
      </section>
    );
  if (workspace.keyState === 'access_suspect')
    return (
      <section className="banner banner-warn" role="alert" aria-labelledby="banner-title">
        <h2 id="banner-title">Keyhold cannot use your key for this workspace</h2>
        <p>
          Your cloud refused Keyhold’s last requests in a way that means the key may be <strong>disabled</strong>,{' '}
          <strong>deleted</strong>, or Keyhold’s <strong>access removed</strong>. Keyhold is re-checking over a short
          window; if the refusals continue, the workspace will be shredded. Temporary outages and throttling never lead
          to shredding.
        </p>
        <p>
          <strong>What you can do:</strong> if you did not mean to revoke access, restore it now in your cloud account,
          then reinstate (or run a revocation check to confirm access is back).
        </p>
        {canWrite && (
          <button type="button" className="btn btn-primary" onClick={onReinstate} disabled={busy}>
            I restored access — reinstate
          </button>
        )}
      </section>
    );
  return null;
}
