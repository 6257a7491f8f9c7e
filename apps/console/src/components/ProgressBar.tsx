/**
 * Progress of a long operation: role="progressbar" with the numbers in text too, so it reads the same to
 * everyone; the surrounding live region (OperationCard) announces state changes. With nothing counted yet
 * (total 0) the bar is indeterminate (no aria-valuenow, per ARIA) instead of a misleading "0 of 0".
 */
export function ProgressBar({ done, total, label }: { done: number; total: number; label: string }) {
  const known = total > 0;
  const pct = known ? Math.min(100, Math.round((done / total) * 100)) : 0;
  return (
    <div className="progress">
      <div
        className={`progress-track${known ? '' : ' indeterminate'}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={known ? pct : undefined}
        aria-valuetext={known ? `${pct}% (${done} of ${total})` : 'in progress'}
      >
        <div className="progress-fill" style={{ width: known ? `${pct}%` : '100%' }} />
      </div>
      <span className="progress-text">{known ? `${pct}% · ${done} / ${total}` : 'in progress'}</span>
    </div>
  );
}
