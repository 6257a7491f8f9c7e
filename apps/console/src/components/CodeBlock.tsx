import { useId } from 'react';
import { CopyButton } from './CopyButton';

/** A snippet the customer pastes into their cloud (policy, command), with a caption and a copy button. */
export function CodeBlock({ title, code, hint }: { title: string; code: string; hint?: string }) {
  const id = useId();
  return (
    <figure className="code-block" aria-labelledby={id}>
      <figcaption>
        <span id={id} className="code-title">
          {title}
        </span>
        <CopyButton value={code} label={title} />
      </figcaption>
      {hint && <p className="muted">{hint}</p>}
      <pre tabIndex={0}>
        <code>{code}</code>
      </pre>
    </figure>
  );
}
