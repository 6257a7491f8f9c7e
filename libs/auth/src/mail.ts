/**
 * How one-time links reach people. The link is the only secret a message carries and it goes to the recipient's
 * mailbox, never into an API response: the platform operator who creates a tenant sees that an invitation exists,
 * not the link, so it cannot accept it (docs/SECURITY-MODEL.md).
 */
export interface MailMessage {
  readonly to: string;
  readonly kind: 'invitation' | 'password_reset';
  readonly subject: string;
  readonly text: string;
  /** The one-time link (console URL with the token in the fragment, so it never reaches a server log). */
  readonly link: string;
}

export interface MailSender {
  send(message: MailMessage): Promise<void>;
}

export interface StoredMail extends MailMessage {
  readonly sentAt: string;
}

/**
 * Development and test delivery: keeps the newest messages in memory (the dev mailbox route serves them) and
 * reports each to `onSend` (the API logs it). Only ever wired in non-production modes.
 */
export class DevMailbox implements MailSender {
  private readonly messages: StoredMail[] = [];

  constructor(
    private readonly onSend: (m: StoredMail) => void = () => undefined,
    private readonly capacity = 1000,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const stored = { ...message, sentAt: new Date().toISOString() };
    this.messages.push(stored);
    if (this.messages.length > this.capacity) this.messages.shift();
    this.onSend(stored);
  }

  list(to?: string): StoredMail[] {
    const want = to?.trim().toLowerCase();
    return this.messages.filter((m) => !want || m.to === want);
  }
}

/** Production without a configured mail transport: refuses, so a link is never silently dropped or logged. */
export class UnconfiguredMailSender implements MailSender {
  async send(): Promise<void> {
    throw new Error('no mail transport is configured (KEYHOLD_MAIL_WEBHOOK_URL)');
  }
}

/**
 * Production delivery through the operator's mail gateway: one JSON POST per message to a webhook (an internal
 * relay to SES, SendGrid, SMTP...). The relay must not log bodies; the link is the invitee's credential.
 */
export class WebhookMailSender implements MailSender {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 5000,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to: message.to, subject: message.subject, text: message.text }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw new Error(`mail webhook answered ${res.status}`);
  }
}
