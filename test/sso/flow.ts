import { createServer } from 'node:net';

/**
 * A minimal browser for the SSO round trip without a real one: a cookie jar per origin (enough for the API's
 * `/v1/sso` cookies and the IdP's session cookies), redirects followed by hand so each hop can be inspected or
 * tampered with.
 */
export class CookieBrowser {
  private readonly jar = new Map<string, Map<string, string>>();

  async request(
    method: 'GET' | 'POST',
    url: string,
    form?: Record<string, string>,
  ): Promise<{ status: number; location: string | null; text: string }> {
    const u = new URL(url);
    const cookies = [...(this.jar.get(u.origin) ?? new Map()).entries()].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        ...(cookies ? { cookie: cookies } : {}),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    const jar = this.jar.get(u.origin) ?? new Map<string, string>();
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const [k, ...v] = pair.trim().split('=');
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || v.join('=') === '';
      if (expired) jar.delete(k);
      else jar.set(k, v.join('='));
    }
    this.jar.set(u.origin, jar);
    const location = res.headers.get('location');
    return { status: res.status, location: location ? new URL(location, url).href : null, text: await res.text() };
  }

  /** Follows redirects on the given origin only; returns the first response elsewhere or without a redirect. */
  async follow(
    url: string,
    origin: string,
  ): Promise<{ url: string; status: number; location: string | null; text: string }> {
    let current = url;
    for (let i = 0; i < 10; i++) {
      const r = await this.request('GET', current);
      if (!r.location || new URL(r.location).origin !== origin) return { url: current, ...r };
      current = r.location;
    }
    throw new Error('too many redirects');
  }
}

/**
 * Starts an SSO sign-in at the API and logs in at the IdP as `login`: returns the callback URL the IdP sent the
 * browser to (code, state, iss) without visiting it, so a test can replay or alter it.
 */
export async function signInAtIdp(
  browser: CookieBrowser,
  apiUrl: string,
  tenantId: string,
  login: string,
): Promise<string> {
  const start = await browser.request('GET', `${apiUrl}/v1/sso/login?tenant_id=${encodeURIComponent(tenantId)}`);
  if (start.status !== 302 || !start.location) throw new Error(`login start: ${start.status} ${start.text}`);
  if (start.location.startsWith(apiUrl)) throw new Error(`login start redirected to the console: ${start.location}`);
  const idpOrigin = new URL(start.location).origin;
  const page = await browser.follow(start.location, idpOrigin);
  // Already signed in at the IdP (same browser, earlier sign-in): it sends the browser straight back.
  if (page.location?.startsWith(`${apiUrl}/v1/sso/callback`)) return page.location;
  const action = /action="([^"]+)"/.exec(page.text)?.[1];
  if (!action) throw new Error(`no login form at the IdP: ${page.status} ${page.text.slice(0, 200)}`);
  const submitted = await browser.request('POST', new URL(action, page.url).href, {
    prompt: 'login',
    login,
    password: 'any',
  });
  if (!submitted.location) throw new Error(`IdP login: ${submitted.status} ${submitted.text.slice(0, 200)}`);
  const back = await browser.follow(submitted.location, idpOrigin);
  const callback = back.location ?? '';
  if (!callback.startsWith(`${apiUrl}/v1/sso/callback`))
    throw new Error(`IdP did not redirect to the callback: ${back.status} ${callback} ${back.text.slice(0, 200)}`);
  return callback;
}

/** Visits the callback; → the console route the API sent the browser to (`sso-complete` or `sso-error/<CODE>`). */
export async function visitCallback(browser: CookieBrowser, callbackUrl: string): Promise<string> {
  const r = await browser.request('GET', callbackUrl);
  if (r.status !== 302 || !r.location) throw new Error(`callback: ${r.status} ${r.text}`);
  return r.location.split('#/')[1] ?? r.location;
}

export async function collectSession(browser: CookieBrowser, apiUrl: string) {
  const r = await browser.request('POST', `${apiUrl}/v1/sso/session`);
  return { status: r.status, body: JSON.parse(r.text) as Record<string, any> };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
