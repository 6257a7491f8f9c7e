import type { OperationHandler } from './operation-handler';

export class MissingHandlersError extends Error {
  override readonly name = 'MissingHandlersError';
  constructor(readonly kinds: readonly string[]) {
    super(`no job handler registered for operation kind(s): ${kinds.join(', ')}; the worker refuses to start`);
  }
}

/**
 * Operation kind → handler. The worker checks it against the full list of kinds at boot and refuses to start if
 * any kind has no handler: an operation row nobody can run would sit "queued" forever, which is worse than a
 * crash on deploy (immich `job.repository.ts` does the same).
 */
export class HandlerRegistry {
  private readonly handlers = new Map<string, OperationHandler>();

  constructor(handlers: readonly OperationHandler[] = []) {
    for (const h of handlers) this.register(h);
  }

  register(handler: OperationHandler): this {
    if (this.handlers.has(handler.kind)) throw new Error(`two handlers registered for operation kind ${handler.kind}`);
    this.handlers.set(handler.kind, handler);
    return this;
  }

  get(kind: string): OperationHandler | undefined {
    return this.handlers.get(kind);
  }

  kinds(): string[] {
    return [...this.handlers.keys()];
  }

  assertCovers(kinds: readonly string[]): void {
    const missing = kinds.filter((k) => !this.handlers.has(k));
    if (missing.length) throw new MissingHandlersError(missing);
  }
}
