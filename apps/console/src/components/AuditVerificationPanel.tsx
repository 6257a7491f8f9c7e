import type { AuditVerification } from '../api/types';
import { useConsole } from '../context';
import { useAction } from '../hooks';
import { ErrorAlert } from './Alert';
import { useAuditVerification, useTenantQuery } from '../api/queries';

/**
 * The audit log's verification (GET …/audit-events/verification) and its signed checkpoints, in words: whether
 * the chain, its MACs and every checkpoint verify, the latest checkpoint (which entry it seals, when, and by which
 * of Keyhold's public keys), with a re-run and a "seal now" button.
 */
export function AuditVerificationPanel() {
  const { api } = useConsole();
  const v = useAuditVerification();
  const seal = useAction(() => api.createAuditCheckpoint(), [['audit']]);
  return (
    <section className="card verification" aria-labelledby="verify-title">
      <div className="page-head">
        <h2 id="verify-title">Tamper evidence</h2>
        <div className="actions">
          <button
            type="button"
            className="btn btn-small"
            onClick={() => void seal.run()}
            disabled={seal.busy || v.loading}
          >
            {seal.busy ? 'Sealing…' : 'Seal now'}
          </button>
          <button type="button" className="btn btn-small" onClick={v.reload} disabled={v.loading}>
            {v.loading ? 'Verifying…' : 'Verify again'}
          </button>
        </div>
      </div>
      <div aria-live="polite">
        {v.data && !v.loading && <Result r={v.data} />}
        {v.data && !v.loading && v.data.ok && <CheckpointStatus r={v.data} />}
      </div>
      <ErrorAlert error={v.error} title="Verification could not run" />
      <ErrorAlert error={seal.error} title="Could not seal a checkpoint" />
    </section>
  );
}

function Result({ r }: { r: AuditVerification }) {
  if (r.ok)
    return (
      <p className="verify-ok" data-verified="true">
        <span aria-hidden="true">✓ </span>
        <strong>Chain intact.</strong> All {r.count} entries link to the one before them and carry Keyhold's MAC. Head
        hash <code className="hash">{r.headHash}</code>
      </p>
    );
  return (
    <p className="verify-bad" role="alert" data-verified="false">
      <span aria-hidden="true">✗ </span>
      <strong>Chain broken{r.firstBadSeq !== undefined ? ` at entry #${r.firstBadSeq}` : ''}.</strong> The audit history
      was altered or damaged after it was written ({r.count} entries checked
      {r.reason ? `; ${r.reason.replace(/_/g, ' ')}` : ''}). {r.message ? `${r.message}. ` : ''}Report this to your
      Keyhold operator.
    </p>
  );
}

function CheckpointStatus({ r }: { r: Extract<AuditVerification, { ok: true }> }) {
  const latest = useTenantQuery(['audit', 'checkpoints', r.lastCheckpointSeq], async (api) => {
    const [checkpoint, keys] = await Promise.all([
      r.lastCheckpointSeq > 0 ? api.auditCheckpointAt(r.lastCheckpointSeq) : Promise.resolve(null),
      api.auditPublicKeys(),
    ]);
    return { checkpoint, key: checkpoint ? keys.find((k) => k.keyId === checkpoint.keyId) : undefined };
  });
  if (!latest.data) return <ErrorAlert error={latest.error} title="Could not load the latest checkpoint" />;
  const { checkpoint, key } = latest.data;
  const pending =
    r.uncheckpointed > 0
      ? ` ${r.uncheckpointed} newer ${r.uncheckpointed === 1 ? 'entry is' : 'entries are'} sealed by the next checkpoint (within a minute).`
      : '';
  if (!checkpoint)
    return (
      <p className="checkpoint-status" data-checkpoint="none">
        No signed checkpoint yet: the first one is signed within a minute of the first entry.{pending}
      </p>
    );
  return (
    <dl className="checkpoint-status" data-checkpoint="verified">
      <dt>Latest signed checkpoint</dt>
      <dd>
        Entry #{checkpoint.seq}, sealed <time dateTime={checkpoint.at}>{new Date(checkpoint.at).toLocaleString()}</time>{' '}
        ({r.checkpoints === 1 ? 'the only checkpoint so far' : `${r.checkpoints} checkpoints in all`})
      </dd>
      <dt>Signed by</dt>
      <dd>
        <code>{checkpoint.keyId}</code> (
        {key
          ? key.current
            ? "Keyhold's current Ed25519 key"
            : 'a retired Keyhold key'
          : 'a key Keyhold does not publish'}
        )
      </dd>
      <dt>Signature</dt>
      <dd>
        <span aria-hidden="true">✓ </span>Verified, and it matches the chain.{pending} Keep the checkpoints and
        Keyhold's public key to verify an export offline with <code>keyhold-audit-verify</code>.
      </dd>
    </dl>
  );
}
