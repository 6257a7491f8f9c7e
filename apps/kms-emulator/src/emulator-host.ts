import { existsSync, readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AdminServer } from './core/admin-server';
import type { CloudEmulator, EmulatorContext } from './core/cloud';
import { CallCounters } from './core/counters';
import { FaultEngine } from './core/faults';
import { Propagation } from './core/propagation';
import { loadOrCreateTls, TlsMaterial } from './core/tls';
import { createAwsEmulator, AwsEmulatorOptions } from './aws';
import { createAzureEmulator, AzureEmulatorOptions } from './azure';
import { createGcpEmulator, GcpEmulatorOptions } from './gcp';

export interface EmulatorHostOptions {
  host?: string;
  /** 0 = ephemeral (tests). Defaults: aws 4566, azure 4567, gcp 4568, admin 4569, gcpIam 4570 (IAM Credentials, https). */
  ports?: Partial<Record<'aws' | 'azure' | 'gcp' | 'admin' | 'gcpIam', number>>;
  /** Keep keys, principals and grants in this JSON file across restarts. */
  stateFile?: string;
  /** Keep the TLS key pair at `${tlsFile}.key.pem` / `${tlsFile}.cert.pem`. */
  tlsFile?: string;
  /** Extra DNS names for the TLS certificate (e.g. `emulators` under docker compose). */
  tlsHosts?: string[];
  aws?: Partial<AwsEmulatorOptions>;
  azure?: Partial<AzureEmulatorOptions>;
  gcp?: Partial<GcpEmulatorOptions>;
}

export interface RunningEmulators {
  aws: { url: string; port: number };
  azure: { url: string; port: number };
  /** `iamCredentials` is the https base URL of the emulated IAM Credentials API (token impersonation). */
  gcp: { url: string; port: number; host: string; iamCredentials: string };
  admin: { url: string; port: number };
  tls: TlsMaterial;
  faults: FaultEngine;
  counters: CallCounters;
  propagation: Propagation;
  clouds: { aws: CloudEmulator; azure: CloudEmulator; gcp: CloudEmulator };
  close(): Promise<void>;
}

export const DEFAULT_PORTS = { aws: 4566, azure: 4567, gcp: 4568, admin: 4569, gcpIam: 4570 } as const;

/** Starts the three cloud emulators and the admin API in this process. */
export async function startEmulators(options: EmulatorHostOptions = {}): Promise<RunningEmulators> {
  const host = options.host ?? '127.0.0.1';
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  // An ephemeral KMS port means "tests/bench": the IAM Credentials port follows unless given, so parallel runs never
  // fight over the fixed default.
  if (options.ports?.gcp === 0 && options.ports.gcpIam === undefined) ports.gcpIam = 0;
  const faults = new FaultEngine();
  const counters = new CallCounters();
  const propagation = new Propagation();
  const tls = loadOrCreateTls(options.tlsFile, options.tlsHosts);

  let timer: NodeJS.Timeout | undefined;
  const clouds: CloudEmulator[] = [];
  const writeState = (): void => {
    if (!options.stateFile) return;
    const state = Object.fromEntries(clouds.map((c) => [c.cloud, c.exportState()]));
    mkdirSync(dirname(options.stateFile), { recursive: true });
    const tmp = `${options.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, options.stateFile);
  };
  const persist = (): void => {
    if (!options.stateFile || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      writeState();
    }, 50);
  };
  const ctx: EmulatorContext = { faults, counters, tls, persist, propagation };

  const aws = createAwsEmulator(ctx, options.aws ?? {});
  const azure = createAzureEmulator(ctx, options.azure ?? {});
  const gcp = createGcpEmulator(ctx, { iamPort: ports.gcpIam, ...options.gcp });
  clouds.push(aws, azure, gcp);

  if (options.stateFile && existsSync(options.stateFile)) {
    const saved = JSON.parse(readFileSync(options.stateFile, 'utf8')) as Record<string, unknown>;
    for (const c of clouds) if (saved[c.cloud] !== undefined) c.importState(saved[c.cloud]);
  }

  const admin = new AdminServer(faults, counters, clouds, persist, propagation);
  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const awsAt = await aws.start(host, ports.aws);
    started.push(aws);
    const azureAt = await azure.start(host, ports.azure);
    started.push(azure);
    const gcpAt = await gcp.start(host, ports.gcp);
    started.push(gcp);
    const adminAt = await admin.start(host, ports.admin);
    started.push(admin);
    return {
      aws: awsAt,
      azure: azureAt,
      gcp: { ...gcpAt, host, iamCredentials: gcp.endpoints()?.iamCredentials ?? '' },
      admin: adminAt,
      tls,
      faults,
      counters,
      propagation,
      clouds: { aws, azure, gcp },
      async close() {
        if (timer) {
          clearTimeout(timer);
          timer = undefined;
          writeState();
        }
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.close().catch(() => undefined)));
    throw err;
  }
}
