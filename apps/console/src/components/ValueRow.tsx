import { CopyButton } from './CopyButton';

/** One identity value (ARN, ExternalId, client id…) in a definition list, with copy. */
export function ValueRow({ label, value, note }: { label: string; value: string | null | undefined; note?: string }) {
  return (
    <div className="value-row">
      <dt>{label}</dt>
      <dd>
        {value ? (
          <>
            <code className="value">{value}</code>
            <CopyButton value={value} label={label} />
          </>
        ) : (
          <span className="muted">Not available on this installation</span>
        )}
        {note && <p className="muted small">{note}</p>}
      </dd>
    </div>
  );
}
