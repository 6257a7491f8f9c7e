import type { SiemAuditEvent, SiemFormat, SiemKind } from '@app/persistence';
import { dedupId, mapEvent } from './formats';

export interface EncodedBatch {
  readonly body: Buffer;
  readonly contentType: string;
  /** Events in the body: a prefix of the input. */
  readonly count: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/**
 * One POST body from the oldest events first, stopping before `maxBytes` (at least one event always goes): the
 * memory a slow receiver can make a worker hold is one bounded batch per destination in flight.
 *  - webhook: `{"events":[...]}` (application/json)
 *  - jsonl: one mapped event per line (application/x-ndjson)
 *  - splunk-hec: HEC event objects one after another, the `/services/collector/event` batch format
 */
export function encodeBatch(
  kind: SiemKind,
  format: SiemFormat,
  tenantId: string,
  events: readonly SiemAuditEvent[],
  maxBytes: number,
): EncodedBatch {
  if (!events.length) throw new Error('encodeBatch needs at least one event');
  const parts: string[] = [];
  let size = kind === 'webhook' ? 12 : 0;
  for (const e of events) {
    const mapped = mapEvent(format, tenantId, e);
    const piece =
      kind === 'splunk-hec'
        ? JSON.stringify({
            time: new Date(e.at).getTime() / 1000,
            host: 'keyhold',
            source: 'keyhold:audit',
            sourcetype: format === 'ocsf' ? 'ocsf' : format === 'cef' ? 'keyhold:cef' : 'keyhold:audit',
            event: mapped,
            fields: { keyhold_id: dedupId(tenantId, e.seq), keyhold_tenant: tenantId },
          })
        : JSON.stringify(mapped);
    const add = Buffer.byteLength(piece) + 1;
    if (parts.length && size + add > maxBytes) break;
    parts.push(piece);
    size += add;
  }
  const count = parts.length;
  const body =
    kind === 'webhook'
      ? `{"events":[${parts.join(',')}]}`
      : kind === 'jsonl'
        ? `${parts.join('\n')}\n`
        : parts.join('\n');
  return {
    body: Buffer.from(body),
    contentType: kind === 'jsonl' ? 'application/x-ndjson' : 'application/json',
    count,
    firstSeq: events[0].seq,
    lastSeq: events[count - 1].seq,
  };
}
