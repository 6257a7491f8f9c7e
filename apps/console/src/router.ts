import { useEffect, useState } from 'react';

/**
 * Hash routing (`#/workspaces/<id>`): works however the API serves `dist/` (no server-side fallback needed for
 * deep links) and never sends the route to the server.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'keys' }
  | { page: 'key-new' }
  | { page: 'key'; id: string }
  | { page: 'workspaces' }
  | { page: 'workspace'; id: string }
  | { page: 'audit' }
  | { page: 'service-principals' }
  | { page: 'siem' }
  | { page: 'users' }
  | { page: 'account' }
  | { page: 'security' }
  | { page: 'accept-invitation'; token: string }
  | { page: 'reset-password'; token: string }
  | { page: 'forgot-password' }
  | { page: 'sso' }
  | { page: 'sso-sign-in' }
  | { page: 'sso-complete' }
  | { page: 'sso-error'; code: string }
  | { page: 'not-found' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [a, b] = parts;
  if (!a) return { page: 'overview' };
  if (a === 'keys' && !b) return { page: 'keys' };
  if (a === 'keys' && b === 'new') return { page: 'key-new' };
  if (a === 'keys' && b) return { page: 'key', id: b };
  if (a === 'workspaces' && !b) return { page: 'workspaces' };
  if (a === 'workspaces' && b) return { page: 'workspace', id: b };
  if (a === 'audit') return { page: 'audit' };
  if (a === 'service-principals') return { page: 'service-principals' };
  if (a === 'siem') return { page: 'siem' };
  if (a === 'users') return { page: 'users' };
  if (a === 'account') return { page: 'account' };
  if (a === 'security') return { page: 'security' };
  if (a === 'accept-invitation' && b) return { page: 'accept-invitation', token: b };
  if (a === 'reset-password' && b) return { page: 'reset-password', token: b };
  if (a === 'forgot-password') return { page: 'forgot-password' };
  if (a === 'sso' && !b) return { page: 'sso' };
  if (a === 'sso-sign-in') return { page: 'sso-sign-in' };
  if (a === 'sso-complete') return { page: 'sso-complete' };
  if (a === 'sso-error') return { page: 'sso-error', code: b ?? '' };
  return { page: 'not-found' };
}

export function href(path: string): string {
  return `#${path}`;
}

export function navigate(path: string): void {
  window.location.hash = path;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
