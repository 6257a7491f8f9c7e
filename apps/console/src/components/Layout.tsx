import { useEffect, useRef, type ReactNode } from 'react';
import { useConsole } from '../context';
import type { Route } from '../router';

const NAV: Array<{ path: string; label: string; match: Route['page'][] }> = [
  { path: '/', label: 'Overview', match: ['overview'] },
  { path: '/keys', label: 'Key configurations', match: ['keys', 'key', 'key-new'] },
  { path: '/workspaces', label: 'Workspaces', match: ['workspaces', 'workspace'] },
  { path: '/audit', label: 'Audit log', match: ['audit'] },
  { path: '/siem', label: 'SIEM streaming', match: ['siem'] },
  { path: '/service-principals', label: 'Service principals', match: ['service-principals'] },
  { path: '/users', label: 'Users', match: ['users'] },
  { path: '/sso', label: 'Single sign-on', match: ['sso'] },
  { path: '/account', label: 'Your account', match: ['account'] },
  { path: '/security', label: 'Security', match: ['security'] },
];

/**
 * Header, navigation and main region. On every route change focus moves to the main heading so keyboard and
 * screen-reader users land on the new page instead of staying on the link they pressed.
 */
export function Layout({ route, onSignOut, children }: { route: Route; onSignOut: () => void; children: ReactNode }) {
  const { session } = useConsole();
  const main = useRef<HTMLElement>(null);
  const key = route.page + ('id' in route ? route.id : '') + ('token' in route ? route.token : '');
  useEffect(() => {
    const h1 = main.current?.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: false });
    }
  }, [key]);

  return (
    <div className="shell">
      <a className="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand" aria-label="Keyhold console">
          <span aria-hidden="true" className="brand-mark">
            ◆
          </span>{' '}
          Keyhold
        </span>
        <span className="who">
          <span className="muted">Signed in as</span> {session.email}{' '}
          <span className="badge badge-neutral">
            {session.role === 'auditor' ? 'Auditor' : session.role === 'key_admin' ? 'Key admin' : session.role}
          </span>
        </span>
        <button type="button" className="btn btn-quiet" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <div className="body">
        <nav aria-label="Main" className="sidenav">
          <ul>
            {NAV.map((n) => {
              const current = n.match.includes(route.page);
              return (
                <li key={n.path}>
                  <a
                    href={`#${n.path}`}
                    aria-current={current ? 'page' : undefined}
                    className={current ? 'current' : undefined}
                  >
                    {n.label}
                  </a>
                </li>
              );
            })}
          </ul>
          <p className="tenant-id muted small">
            Tenant <code>{session.tenantId}</code>
          </p>
        </nav>
        <main id="main" ref={main} tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
