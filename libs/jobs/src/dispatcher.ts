import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { BulkJobData, JobName, OperationJobData, OperationKind, QueueName, ROUTES } from './contracts';

/**
 * Hands a durable operation row to BullMQ. The job id is the operation id, so dispatching the same operation
 * twice (a retried HTTP request, the reconciler after a Redis loss) adds one job, not two. The job carries ids
 * only; the worker reads everything else from Postgres.
 */
export class OperationDispatcher {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  async dispatch(kind: OperationKind, data: OperationJobData): Promise<void> {
    const route = ROUTES[kind];
    await this.queue(route.queue).add(
      route.job,
      { operationId: data.operationId, tenantId: data.tenantId },
      {
        jobId: data.operationId,
        attempts: 8,
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  /**
   * Hands a committed bulk operation to the worker. The job id is derived from the bulk operation's id, so a
   * retried dispatch (or the reconciler) adds one job, not two.
   */
  async dispatchBulk(data: BulkJobData): Promise<void> {
    await this.queue(QueueName.BulkOperation).add(
      JobName.BulkOperation,
      { bulkOperationId: data.bulkOperationId, tenantId: data.tenantId },
      {
        jobId: bulkJobId(data.bulkOperationId),
        attempts: 8,
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    );
  }

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      this.queues.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}

/** The BullMQ job id of a bulk operation (a custom job id must not be a bare integer; a prefix keeps it apart). */
export function bulkJobId(bulkOperationId: string): string {
  return `bulk-${bulkOperationId}`;
}
