import { useEffect, useState } from 'react';

/**
 * Copies a value to the clipboard. The confirmation is announced through a polite live region so keyboard and
 * screen-reader users know it worked. Falls back to a hidden textarea where the async Clipboard API is denied.
 */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2500);
    return () => clearTimeout(t);
  }, [state]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setState('copied');
    } catch {
      setState(legacyCopy(value) ? 'copied' : 'failed');
    }
  }

  return (
    <span className="copy">
      <button type="button" className="btn btn-small" onClick={() => void copy()} aria-label={`Copy ${label}`}>
        Copy
      </button>
      <span className="copy-status" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select the text and copy it' : ''}
      </span>
    </span>
  );
}

function legacyCopy(value: string): boolean {
  const ta = document.createElement('textarea');
  ta.value = value;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  try {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the fallback where the Clipboard API is refused (plain http)
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    ta.remove();
  }
}
