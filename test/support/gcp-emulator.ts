import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import { AdminServer } from '../../apps/kms-emulator/src/core/admin-server';
import { CallCounters } from '../../apps/kms-emulator/src/core/counters';
import { FaultEngine } from '../../apps/kms-emulator/src/core/faults';
import { Propagation } from '../../apps/kms-emulator/src/core/propagation';
import { loadOrCreateTls } from '../../apps/kms-emulator/src/core/tls';
import {
  createGcpEmulator,
  GCP_EMULATOR_DEFAULTS,
  type GcpEmulator,
  type GcpEndpoints,
} from '../../apps/kms-emulator/src/gcp';
import { emulatorAdmin } from './emulator-admin';

/** The GCP emulator alone, on ephemeral ports, with its own fault engine, counters and admin server. */
export interface GcpEmulatorHarness {
  emulator: GcpEmulator;
  endpoints: GcpEndpoints;
  faults: FaultEngine;
  counters: CallCounters;
  adminUrl: string;
  caPem: string;
  vendorToken: string;
  vendorProject: string;
  ownerMember: string;
  persistCalls(): number;
  /** Cloud KMS client with no caller identity: acts as the customer project owner. */
  ownerKms(): KeyManagementServiceClient;
  /** Cloud KMS client that sends `Authorization: Bearer <token>` on every call. */
  kmsWithToken(token: string): KeyManagementServiceClient;
  /** POST/GET an admin route (e.g. '/gcp/tokens/revoke'). */
  admin(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startGcpEmulator(): Promise<GcpEmulatorHarness> {
  const faults = new FaultEngine();
  const counters = new CallCounters();
  const propagation = new Propagation();
  const tls = loadOrCreateTls();
  let persisted = 0;
  const emulator = createGcpEmulator(
    {
      faults,
      counters,
      tls,
      persist: () => {
        persisted++;
      },
      propagation,
    },
    {},
  );
  await emulator.start('127.0.0.1', 0);
  const endpoints = emulator.endpoints()!;
  const adminServer = new AdminServer(faults, counters, [emulator], () => undefined, propagation);
  const adminAt = await adminServer.start('127.0.0.1', 0);
  const clients: KeyManagementServiceClient[] = [];

  const build = (callCreds?: grpc.CallCredentials) => {
    const ssl = grpc.credentials.createSsl(Buffer.from(tls.caPem));
    const client = new KeyManagementServiceClient({
      apiEndpoint: endpoints.kms.host,
      port: endpoints.kms.port,
      sslCreds: callCreds ? grpc.credentials.combineChannelCredentials(ssl, callCreds) : ssl,
      // gax insists on an auth client even when sslCreds carry the identity; this one is never asked for a token.
      authClient: new OAuth2Client(),
    });
    clients.push(client);
    return client;
  };

  return {
    emulator,
    endpoints,
    faults,
    counters,
    adminUrl: adminAt.url,
    caPem: tls.caPem,
    vendorToken: GCP_EMULATOR_DEFAULTS.vendorToken,
    vendorProject: GCP_EMULATOR_DEFAULTS.vendorProject,
    ownerMember: GCP_EMULATOR_DEFAULTS.ownerMember,
    persistCalls: () => persisted,
    ownerKms: () => build(),
    kmsWithToken: (token: string) =>
      build(
        grpc.credentials.createFromMetadataGenerator((_opts, cb) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${token}`);
          cb(null, md);
        }),
      ),
    admin: emulatorAdmin(adminAt.url),
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await adminServer.close();
      await emulator.close();
    },
  };
}
