import type { AuditVerification } from '../api/types';
import { useConsole } from '../context';
import { useLoad } from '../hooks';
import { ErrorAlert } from './Alert';

/** The audit chain verification (GET …/audit-events/verification), in words, with a re-run button. */
export function AuditVerificationPanel() {
  const { api } = useConsole();
  const v = useLoad(() => api.verifyAuditChain(), [api]);
  return (
    <section className="card verification" aria-labelledby="verify-title">
      <div className="page-head">
        <h2 id="verify-title">Chain verification</h2>
        <button type="button" className="btn btn-small" onClick={v.reload} disabled={v.loading}>
          {v.loading ? 'Verifying…' : 'Verify again'}
        </button>
      </div>
      <div aria-live="polite">{v.data && !v.loading && <Result r={v.data} />}</div>
      <ErrorAlert error={v.error} title="Verification could not run" />
    </section>
  );
}

function Result({ r }: { r: AuditVerification }) {
  if (r.ok)
    return (
      <p className="verify-ok" data-verified="true">
        <span aria-hidden="true">✓ </span>
        <strong>Chain intact.</strong> All {r.count} entries link to the one before them. Head hash <code className="hash">{r.headHash}</code>
      </p>
    );
  return (
    <p className="verify-bad" role="alert" data-verified="false">
      <span aria-hidden="true">✗ </span>
      <strong>Chain broken{r.firstBadSeq !== undefined ? ` at entry #${r.firstBadSeq}` : ''}.</strong> The audit history was altered or damaged after it
      was written ({r.count} entries checked). Report this to your Keyhold operator.
    </p>
  );
}
