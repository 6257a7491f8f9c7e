/** Previous / next page of a server-side list, with the page number announced to screen readers. */
export function Pager(props: {
  label: string;
  pageNumber: number;
  hasPrevious: boolean;
  hasNext: boolean;
  busy: boolean;
  onPrevious: () => void;
  onNext: () => void;
}) {
  return (
    <nav className="pager" aria-label={`${props.label} pages`}>
      <button type="button" className="btn btn-small" onClick={props.onPrevious} disabled={!props.hasPrevious}>
        Previous page
      </button>
      <span aria-live="polite">
        Page {props.pageNumber}
        {props.busy ? ' (loading…)' : ''}
      </span>
      <button type="button" className="btn btn-small" onClick={props.onNext} disabled={!props.hasNext}>
        Next page
      </button>
    </nav>
  );
}
