/** A labelled text input with optional help text wired through aria-describedby. */
export function TextField(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  required?: boolean;
  help?: string;
  placeholder?: string;
  mono?: boolean;
  type?: string;
}) {
  const helpId = props.help ? `${props.id}-help` : undefined;
  return (
    <div className="field">
      <label htmlFor={props.id}>
        {props.label}
        {props.required && <span className="muted small"> (required)</span>}
      </label>
      <input
        id={props.id}
        type={props.type ?? 'text'}
        className={props.mono ? 'mono' : undefined}
        value={props.value}
        required={props.required}
        placeholder={props.placeholder}
        spellCheck={false}
        autoComplete="off"
        aria-describedby={helpId}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.help && (
        <p id={helpId} className="help">
          {props.help}
        </p>
      )}
    </div>
  );
}
