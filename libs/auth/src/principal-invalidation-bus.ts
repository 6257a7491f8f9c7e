import type Redis from 'ioredis';

interface Message {
  /** tenant id */
  readonly t: string;
  /** service principal id */
  readonly p: string;
}

/**
 * Tells every API replica that a service principal changed (disabled, deleted, secret rotated or revoked, scope
 * or allow-list changed) over Redis pub/sub (channel `{prefix}:principal-invalidation`). Each replica forgets
 * what it cached for the principal. Pub/sub is at-most-once: ServicePrincipalGate.poll is the fallback.
 */
export class PrincipalInvalidationBus {
  private readonly channel: string;
  private subscribed = false;

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    prefix: string,
    private readonly forget: (principalId: string) => void,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    this.channel = `${prefix}:principal-invalidation`;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      try {
        const m = JSON.parse(raw) as Message;
        if (typeof m.p === 'string') this.forget(m.p);
      } catch (err) {
        this.onError(err);
      }
    });
    await this.subscriber.subscribe(this.channel);
    this.subscribed = true;
  }

  /** Forget the principal here at once, then on every other replica. Call after the change has committed. */
  async servicePrincipalChanged(tenantId: string, principalId: string): Promise<void> {
    this.forget(principalId);
    const m: Message = { t: tenantId, p: principalId };
    await this.publisher.publish(this.channel, JSON.stringify(m));
  }

  async close(): Promise<void> {
    if (this.subscribed) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}
