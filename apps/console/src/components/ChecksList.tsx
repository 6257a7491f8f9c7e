import type { Provider, ValidationCheck } from '../api/types';
import { checkFix, checkLabel } from '../checks';

/** Each validation check with a pass/fail mark in words and symbol, the server's message, and the fix. */
export function ChecksList({ checks, provider }: { checks: ValidationCheck[]; provider: Provider }) {
  if (checks.length === 0) return <p className="muted">No checks have run yet.</p>;
  return (
    <ul className="checks" aria-label="Validation checks">
      {checks.map((c, i) => (
        <li key={`${c.name}-${i}`} className={c.ok ? 'check check-ok' : 'check check-fail'} data-check={c.name}>
          <span className="check-mark" aria-hidden="true">
            {c.ok ? '✓' : '✗'}
          </span>
          <div>
            <p className="check-name">
              <span className="visually-hidden">{c.ok ? 'Passed: ' : 'Failed: '}</span>
              {checkLabel(c.name)}
              <span className={`badge badge-${c.ok ? 'ok' : 'bad'}`} aria-hidden="true">
                {c.ok ? 'Passed' : 'Failed'}
              </span>
            </p>
            <p className="check-message">{c.message}</p>
            {!c.ok && (
              <p className="check-fix">
                <strong>How to fix:</strong> {checkFix(c.name, provider)}
              </p>
            )}
          </div>
        </li>
      ))}
    </ul>
  );
}

export function ValidationSummary({ status, checks }: { status: string; checks: ValidationCheck[] }) {
  const failed = checks.filter((c) => !c.ok).length;
  if (status === 'valid')
    return (
      <div className="alert alert-ok" role="status">
        <strong>Valid.</strong> Every check passed; workspaces can be bound to this configuration.
      </div>
    );
  return (
    <div className="alert alert-error" role="alert">
      <strong>Not valid yet.</strong> {failed === 1 ? '1 check failed' : `${failed} checks failed`}. Fix what is listed
      below in your cloud account, then validate again.
    </div>
  );
}
