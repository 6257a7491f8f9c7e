import type { BenchMode } from '../lib/mode';
import type { CustomerAws } from '../../stack';
import type { EmulatorAdmin } from '../lib/emulator-admin';
import type { KeyholdClient } from '../lib/keyhold';
import type { ApiReplica, Emulators, Paths } from '../lib/stack';

/** The seeded population every section measures against (ids only; no key material). */
export interface World {
  tenantId: string;
  admin: { email: string; password: string };
  keyConfigurationId: string;
  keyArn: string;
  roleArn: string;
  roleName: string;
  externalId: string;
  vendorPrincipalArn: string;
  /** Workspaces with `segmentsPerWorkspace` seeded DEKs each: the random-access population of the DEK fetch. */
  fetchWorkspaces: string[];
  /** All workspaces bound to the one configuration (fetchWorkspaces first), for CMK rewrap and memory. */
  scaleWorkspaces: string[];
  /** Never fetched before their section: single flight (1 + multiCold) and cold-fetch samples. */
  singleFlightWorkspace: string;
  multiColdWorkspaces: string[];
  coldSampleWorkspaces: string[];
  /** Touched first by every fresh replica so assumed-role credentials are warm before a measurement. */
  warmupWorkspace: string;
  /** Holds `kekRotationDeks` DEKs for the KEK rotation measurement. */
  rotationWorkspace: string;
  /**
   * Service principals covering every workspace (a principal's scope holds at most 1,000 workspaces): the first one
   * is scoped to exactly `fetchWorkspaces`, so one token drives the load generator.
   */
  principals: Principal[];
}

export interface Principal {
  clientId: string;
  clientSecret: string;
  workspaceIds: string[];
}

export interface BenchContext {
  mode: BenchMode;
  paths: Paths;
  emulators: Emulators;
  admin: EmulatorAdmin;
  customer: CustomerAws;
  /** A long-lived replica used for admin calls and seeding, never for measured traffic. */
  control: ApiReplica;
  client: KeyholdClient;
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  adminToken(): Promise<string>;
  /** A new tenant whose first key admin accepted the mailed invitation (the operator never knows the password). */
  onboard(name: string): Promise<{ tenantId: string; token: string; trustedPrincipalArn: string; externalId: string }>;
  log(message: string): void;
  profile: boolean;
}
