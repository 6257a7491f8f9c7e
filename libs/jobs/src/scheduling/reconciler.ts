import { isOperationKind, QueueName, ROUTES } from '../contracts';
import { bulkJobId, type OperationDispatcher } from '../dispatcher';
import type { BulkOperationRepository, OperationRepository } from '@app/persistence';

/** Job states that will still run: left alone. */
const LIVE = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/**
 * Postgres is the truth, Redis only executes. The reconciler walks unfinished operations that nobody touched for
 * `staleMs` and makes sure each has a live job: missing (Redis lost its data, the API died between INSERT and
 * add) → enqueued again; finished in BullMQ but not in Postgres (a worker died between the two) → removed and
 * enqueued again. Waiting, delayed and active jobs are left alone (BullMQ's stalled-job check takes back active
 * jobs of dead workers). Re-running is safe because every operation is idempotent. Bulk operations the same way:
 * one whose pending items nobody touched for `staleMs` gets its job back (its items are idempotent too).
 */
export class Reconciler {
  constructor(
    private readonly operations: OperationRepository,
    private readonly dispatcher: OperationDispatcher,
    private readonly staleMs: number,
    private readonly log: (level: 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void,
    private readonly bulk?: BulkOperationRepository,
  ) {}

  async execute(): Promise<{ examined: number; requeued: number }> {
    const stale = await this.operations.listStale(this.staleMs);
    let requeued = 0;
    for (const op of stale) {
      if (!isOperationKind(op.kind)) continue;
      const queue = this.dispatcher.queue(ROUTES[op.kind].queue);
      const job = await queue.getJob(op.id);
      const state = job ? await job.getState() : 'missing';
      if (LIVE.has(state)) continue;
      if (job && (state === 'completed' || state === 'failed')) await job.remove().catch(() => undefined);
      await this.dispatcher.dispatch(op.kind, { operationId: op.id, tenantId: op.tenantId });
      requeued++;
      this.log('warn', 'reconciler re-enqueued an operation', { operationId: op.id, kind: op.kind, jobState: state });
    }
    const bulk = this.bulk ? await this.bulk.listStale(this.staleMs) : [];
    for (const b of bulk) {
      const job = await this.dispatcher.queue(QueueName.BulkOperation).getJob(bulkJobId(b.id));
      const state = job ? await job.getState() : 'missing';
      if (LIVE.has(state)) continue;
      if (job && (state === 'completed' || state === 'failed')) await job.remove().catch(() => undefined);
      await this.dispatcher.dispatchBulk({ bulkOperationId: b.id, tenantId: b.tenantId });
      requeued++;
      this.log('warn', 'reconciler re-enqueued a bulk operation', { bulkOperationId: b.id, jobState: state });
    }
    return { examined: stale.length + bulk.length, requeued };
  }
}
