import type { CallCounters } from './counters';
import type { FaultEngine } from './faults';
import type { Propagation } from './propagation';
import type { TlsMaterial } from './tls';

/** What every cloud emulator gets from the host: shared fault engine, counters, TLS material, persistence. */
export interface EmulatorContext {
  readonly faults: FaultEngine;
  readonly counters: CallCounters;
  readonly tls: TlsMaterial;
  /** Ask the host to write state to disk (no-op when persistence is off). Debounced by the host. */
  readonly persist: () => void;
  /** Propagation delay and flapping of changes (off unless the admin API switches it on). */
  readonly propagation?: Propagation;
}

export interface AdminRequest {
  method: string;
  /** Path below the cloud prefix, e.g. '/grants' for /azure/grants. */
  path: string;
  query: URLSearchParams;
  body: unknown;
}

export interface AdminResponse {
  status: number;
  body?: unknown;
}

/** One emulated cloud. Listens on its own port; may add admin routes under /{cloud}/... */
export interface CloudEmulator {
  readonly cloud: 'aws' | 'azure' | 'gcp';
  /** Start listening (port 0 = ephemeral). Resolves with the base URL clients use. */
  start(host: string, port: number): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
  /** Drop all keys, principals and grants back to the boot defaults. */
  resetState(): void;
  exportState(): unknown;
  importState(state: unknown): void;
  admin?(req: AdminRequest): Promise<AdminResponse | null>;
}
