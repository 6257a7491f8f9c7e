/**
 * The signed-in session. The access token lives in sessionStorage (this tab only, gone when it closes), never in
 * localStorage or a cookie; it is short-lived and the console signs out when it expires. The role shown in the
 * UI is read from the token's claims for display only — the API enforces it.
 */
export interface Session {
  token: string;
  tenantId: string;
  email: string;
  role: 'key_admin' | 'auditor' | string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const KEY = 'keyhold.session';

export function loadSession(now = Date.now()): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== 'string' || typeof s.tenantId !== 'string' || typeof s.expiresAt !== 'number') return null;
    if (s.expiresAt <= now) {
      clearSession();
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The `role` claim of a JWT, without verifying it (the server does). */
export function roleFromToken(token: string): string {
  try {
    const payload = token.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as { role?: unknown };
    return typeof claims.role === 'string' ? claims.role : 'unknown';
  } catch {
    return 'unknown';
  }
}
