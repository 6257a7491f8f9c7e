import type { ReactNode } from 'react';
import { ApiError, toApiError } from '../api/errors';

/** An API failure in words: what happened, then the server's own sentence. Never raw JSON. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e: ApiError = toApiError(error);
  return (
    <div className="alert alert-error" role="alert">
      {title && <p className="alert-title">{title}</p>}
      <p>{e.summary}</p>
      {e.detail && e.detail !== e.summary && <p className="alert-detail">Details: {e.detail}</p>}
    </div>
  );
}

/** A calm confirmation, announced politely to screen readers. */
export function Notice({ children }: { children: ReactNode }) {
  return (
    <div className="alert alert-ok" role="status">
      {children}
    </div>
  );
}
