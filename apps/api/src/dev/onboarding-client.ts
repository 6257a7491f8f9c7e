import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The one way tests, the hardening suite and the benchmarks give a tenant its admins: the operator creates the
 * tenant (no password), the invitation travels by "email" (the dev mailbox of a non-production API), and the
 * invitee accepts it with a password of their own. Plain fetch, so it works against an in-process API or a
 * separate process alike. Never usable against a production API: there is no mailbox to read there.
 */
export interface MailboxMessage {
  to: string;
  kind: 'invitation' | 'password_reset';
  subject: string;
  link: string;
  sentAt: string;
}

export interface OnboardedAdmin {
  /** The tenant as the operator's answer shows it (identities of the clouds this API has bindings for). */
  tenant: {
    id: string;
    name: string;
    aws: { externalId: string; trustedPrincipalArn: string; trustPolicy: string };
    azure: { clientId: string; [k: string]: unknown };
    gcp: { serviceAccount: string };
    [k: string]: unknown;
  };
  invitation: { id: string; email: string; role: string; expiresAt: string };
  email: string;
  password: string;
  token: string;
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the body it expects
async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T; text: string }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, text };
}

function expect2xx(what: string, r: { status: number; text: string }, status: number): void {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${r.text.slice(0, 300)}`);
}

/** The one-time token of the newest link of `kind` sent to `email` (polls briefly: delivery is asynchronous). */
export async function mailboxToken(
  baseUrl: string,
  email: string,
  kind: MailboxMessage['kind'],
  timeoutMs = 5000,
): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await call<{ messages: MailboxMessage[] }>(
      baseUrl,
      'GET',
      `/dev/mailbox?to=${encodeURIComponent(email)}`,
    );
    expect2xx('dev mailbox', r, 200);
    const messages = r.body.messages.filter((m) => m.kind === kind);
    const last = messages.at(-1);
    const m = last && LINK_TOKEN.exec(last.link);
    if (m) return m[1];
    if (Date.now() > until) throw new Error(`no ${kind} mail for ${email}`);
    await new Promise((r2) => setTimeout(r2, 25));
  }
}

/** Where a test reads the one-time token mailed to someone: the dev mailbox by default. */
export type MailReader = (email: string, kind: MailboxMessage['kind']) => Promise<string>;

const LINK_TOKEN = /#\/(?:accept-invitation|reset-password)\/([A-Za-z0-9_-]+)/;

/**
 * A production-mode API has no dev mailbox: it posts each message to KEYHOLD_MAIL_WEBHOOK_URL. This is such a
 * webhook on loopback (the benchmarks run the API in production mode) that keeps what it received.
 */
export class WebhookMailCapture {
  private readonly received: Array<{ to: string; text: string }> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WebhookMailCapture> {
    let capture: WebhookMailCapture | null = null;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString('utf8')));
      req.on('end', () => {
        try {
          const m = JSON.parse(body) as { to?: unknown; text?: unknown };
          if (typeof m.to === 'string' && typeof m.text === 'string')
            capture?.received.push({ to: m.to, text: m.text });
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    capture = new WebhookMailCapture(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/mail`);
    return capture;
  }

  readonly reader: MailReader = async (email, kind) => {
    const until = Date.now() + 5000;
    const want = kind === 'invitation' ? '/#/accept-invitation/' : '/#/reset-password/';
    for (;;) {
      const m = this.received.filter((x) => x.to === email.toLowerCase() && x.text.includes(want)).at(-1);
      const token = m && LINK_TOKEN.exec(m.text)?.[1];
      if (token) return token;
      if (Date.now() > until) throw new Error(`no ${kind} mail for ${email}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  close(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

export const newTestPassword = () => `pw-${randomBytes(12).toString('hex')}`;

export async function adminToken(baseUrl: string, tenantId: string, email: string, password: string): Promise<string> {
  const r = await call<{ access_token: string }>(baseUrl, 'POST', '/v1/auth/token', {
    grant_type: 'password',
    tenant_id: tenantId,
    username: email,
    password,
  });
  expect2xx('admin token', r, 200);
  return r.body.access_token;
}

/** Accepts the newest invitation mailed to `email` with `password`. */
export async function acceptMailedInvitation(
  baseUrl: string,
  email: string,
  password: string,
  mail?: MailReader,
): Promise<{ tenantId: string; userId: string; role: string }> {
  const token = await (mail ?? ((e, k) => mailboxToken(baseUrl, e, k)))(email, 'invitation');
  const r = await call<{ tenantId: string; userId: string; role: string }>(baseUrl, 'POST', '/v1/invitations/accept', {
    token,
    password,
  });
  expect2xx('accept invitation', r, 201);
  return r.body;
}

/** Operator creates a tenant; its first key admin accepts the mailed invitation and signs in. */
export async function onboardTenant(
  baseUrl: string,
  operatorToken: string,
  opts: { name: string; email: string; password?: string; mail?: MailReader },
): Promise<OnboardedAdmin> {
  const password = opts.password ?? newTestPassword();
  const created = await call<OnboardedAdmin['tenant'] & { invitation: OnboardedAdmin['invitation'] }>(
    baseUrl,
    'POST',
    '/v1/tenants',
    { name: opts.name, admin: { email: opts.email } },
    operatorToken,
  );
  expect2xx('create tenant', created, 201);
  const { invitation, ...tenant } = created.body;
  await acceptMailedInvitation(baseUrl, opts.email, password, opts.mail);
  return {
    tenant,
    invitation,
    email: opts.email.toLowerCase(),
    password,
    token: await adminToken(baseUrl, tenant.id, opts.email, password),
  };
}

/** A key admin invites another admin or auditor, who accepts and signs in. */
export async function inviteUser(
  baseUrl: string,
  keyAdminToken: string,
  tenantId: string,
  opts: { email: string; role: 'key_admin' | 'auditor'; password?: string },
): Promise<{ id: string; email: string; role: string; password: string; token: string }> {
  const password = opts.password ?? newTestPassword();
  const inv = await call(
    baseUrl,
    'POST',
    `/v1/tenants/${tenantId}/invitations`,
    { email: opts.email, role: opts.role },
    keyAdminToken,
  );
  expect2xx('invite', inv, 201);
  const accepted = await acceptMailedInvitation(baseUrl, opts.email, password);
  return {
    id: accepted.userId,
    email: opts.email.toLowerCase(),
    role: opts.role,
    password,
    token: await adminToken(baseUrl, tenantId, opts.email, password),
  };
}
