import type { DataSource } from 'typeorm';
import { SiemDestinationRepository } from '@app/persistence';
import { encodeBatch } from './encode';
import { SecretBox } from './secret-box';
import type { SiemSettings } from './settings';
import { SIGNATURE_HEADER, signBody } from './signature';
import { describeFailure, SiemTransport } from './transport';

export interface SiemDeliveryResult {
  /** Events the receiver acknowledged in this run. */
  readonly delivered: number;
  /** 'caught-up': nothing left; 'budget': more to send next run; 'failed': this attempt failed (retry with backoff);
   *  'dead-letter': failed too often; 'gone': deleted, dead-lettered or moved on by another worker. */
  readonly outcome: 'caught-up' | 'budget' | 'failed' | 'dead-letter' | 'gone';
  readonly error?: string;
}

/**
 * Delivers one destination's backlog, batch by batch, oldest first: read at most one bounded batch after the
 * cursor, POST it, and move the cursor past it only after the receiver's 2xx (compare-and-set). A crash anywhere
 * re-sends at most the batch in flight, with the same dedup ids. A failure counts one consecutive failure; the
 * caller retries with backoff, and the destination is dead-lettered after `maxFailures`.
 */
export class SiemDelivery {
  private readonly repo: SiemDestinationRepository;
  private readonly box: SecretBox;

  constructor(
    ds: DataSource,
    private readonly transport: SiemTransport,
    private readonly settings: SiemSettings,
    sealingRootKey: string,
    private readonly onDelivered: (events: number) => void = () => undefined,
  ) {
    this.repo = new SiemDestinationRepository(ds);
    this.box = new SecretBox(sealingRootKey);
  }

  async deliver(destinationId: string, signal?: AbortSignal): Promise<SiemDeliveryResult> {
    const d = await this.repo.target(destinationId);
    if (!d || d.state !== 'active') return { delivered: 0, outcome: 'gone' };
    const secret = this.box.open(d.tenantId, d.id, d.sealedSecret);
    const signers = d.previousSealedSecret
      ? [secret, this.box.open(d.tenantId, d.id, d.previousSealedSecret)]
      : [secret];
    const until = Date.now() + this.settings.runBudgetMs;
    let cursor = Number(d.cursorSeq);
    let delivered = 0;
    while (!signal?.aborted) {
      if (Date.now() >= until) return { delivered, outcome: 'budget' };
      const events = await this.repo.events(d.tenantId, cursor, this.settings.batchEvents);
      if (!events.length) return { delivered, outcome: 'caught-up' };
      const batch = encodeBatch(d.kind, d.format, d.tenantId, events, this.settings.batchBytes);
      const headers: Record<string, string> = {
        'content-type': batch.contentType,
        'keyhold-destination': d.id,
        'keyhold-first-seq': String(batch.firstSeq),
        'keyhold-last-seq': String(batch.lastSeq),
      };
      if (d.kind === 'splunk-hec') headers.authorization = `Splunk ${secret}`;
      else headers[SIGNATURE_HEADER] = signBody(signers, batch.body);
      try {
        await this.transport.post(d.url, headers, batch.body, this.settings.timeoutMs);
      } catch (err) {
        const error = describeFailure(err);
        const r = await this.repo.recordFailure(d.id, error, this.settings.maxFailures);
        if (!r) return { delivered, outcome: 'gone', error };
        return { delivered, outcome: r.state === 'dead_letter' ? 'dead-letter' : 'failed', error };
      }
      if (!(await this.repo.advance(d.id, cursor, batch.lastSeq, batch.count))) return { delivered, outcome: 'gone' };
      cursor = batch.lastSeq;
      delivered += batch.count;
      this.onDelivered(batch.count);
    }
    return { delivered, outcome: 'budget' };
  }
}
