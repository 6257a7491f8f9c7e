import type { ReactNode } from 'react';

/** The centred card of the pages reached without a session (sign-in, invitation, password reset). */
export function PublicCard({ children }: { children: ReactNode }) {
  return (
    <div className="signin">
      <main className="signin-card" id="main">
        <p className="brand">
          <span aria-hidden="true" className="brand-mark">
            ◆
          </span>{' '}
          Keyhold
        </p>
        {children}
      </main>
    </div>
  );
}
