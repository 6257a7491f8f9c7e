import type { AuditLog } from './audit-log';

/**
 * Signs a checkpoint for every tenant whose log grew, once per interval. Every process that appends runs one
 * (API replicas and workers); two sealing the same head is harmless (the first row stays), and a process that dies
 * leaves the others to seal what it wrote. A tenant whose log fails verification is not sealed: the failure is
 * reported and the tenant stays uncovered, which verification reports as well.
 */
export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly log: AuditLog,
    private readonly intervalMs: number,
    private readonly onError: (tenantId: string | null, err: unknown) => void = () => undefined,
  ) {}

  /** Sweeps now (a restart after downtime must not leave logs unsealed for another interval), then every interval. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
    void this.sweep();
  }

  /** One pass over the tenants that are due; concurrent calls share the pass in flight. */
  sweep(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async pass(): Promise<void> {
    let due: string[];
    try {
      due = await this.log.tenantsDue();
    } catch (err) {
      return this.onError(null, err);
    }
    for (const tenantId of due) {
      try {
        await this.log.checkpoint(tenantId);
      } catch (err) {
        this.onError(tenantId, err);
      }
    }
  }
}
