/** Minimal typing of passport-strategy (no @types package installed): the base class passport strategies extend. */
declare module 'passport-strategy' {
  export class Strategy {
    name?: string;
    authenticate(req: unknown, options?: unknown): void;
    success(user: unknown, info?: unknown): void;
    fail(challenge?: unknown, status?: number): void;
    fail(status?: number): void;
    redirect(url: string, status?: number): void;
    pass(): void;
    error(err: Error): void;
  }
}
