import { KMSClient } from '@aws-sdk/client-kms';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { AdminServer } from '../../apps/kms-emulator/src/core/admin-server';
import type { CloudEmulator } from '../../apps/kms-emulator/src/core/cloud';
import { CallCounters } from '../../apps/kms-emulator/src/core/counters';
import { FaultEngine } from '../../apps/kms-emulator/src/core/faults';
import { loadOrCreateTls } from '../../apps/kms-emulator/src/core/tls';
import {
  AWS_CUSTOMER_ROOT_CREDENTIALS,
  AWS_EMULATOR_DEFAULTS,
  createAwsEmulator,
} from '../../apps/kms-emulator/src/aws';

/** The AWS emulator alone (no Azure/GCP), on an ephemeral port, with its own fault engine and counters. */
export interface AwsEmulatorHarness {
  url: string;
  faults: FaultEngine;
  counters: CallCounters;
  emulator: CloudEmulator;
  adminUrl: string;
  region: string;
  customerAccountId: string;
  /** How many times the emulator asked the host to persist its state. */
  persistCalls(): number;
  vendor: { accessKeyId: string; secretAccessKey: string; arn: string; accountId: string };
  /** SDK clients signed as the customer account root (`test`/`test`), retries off unless asked. */
  customerKms(maxAttempts?: number): KMSClient;
  customerIam(): IAMClient;
  customerSts(): STSClient;
  close(): Promise<void>;
}

export async function startAwsEmulator(): Promise<AwsEmulatorHarness> {
  const faults = new FaultEngine();
  const counters = new CallCounters();
  const tls = loadOrCreateTls();
  let persisted = 0;
  const emulator = createAwsEmulator(
    {
      faults,
      counters,
      tls,
      persist: () => {
        persisted++;
      },
    },
    {},
  );
  const { url } = await emulator.start('127.0.0.1', 0);
  const admin = new AdminServer(faults, counters, [emulator], () => undefined);
  const adminAt = await admin.start('127.0.0.1', 0);
  const d = AWS_EMULATOR_DEFAULTS;
  const clients: Array<{ destroy(): void }> = [];
  const track = <T extends { destroy(): void }>(c: T): T => {
    clients.push(c);
    return c;
  };
  // The SDK tags the credentials object it is given: hand each client its own copy, never the frozen constant.
  const base = () => ({ endpoint: url, region: d.region, credentials: { ...AWS_CUSTOMER_ROOT_CREDENTIALS } });
  return {
    url,
    faults,
    counters,
    emulator,
    adminUrl: adminAt.url,
    region: d.region,
    customerAccountId: d.customerAccountId,
    persistCalls: () => persisted,
    vendor: {
      accessKeyId: d.vendorAccessKeyId,
      secretAccessKey: d.vendorSecretAccessKey,
      arn: `arn:aws:iam::${d.vendorAccountId}:user/${d.vendorUserName}`,
      accountId: d.vendorAccountId,
    },
    customerKms: (maxAttempts = 1) => track(new KMSClient({ ...base(), maxAttempts })),
    customerIam: () => track(new IAMClient({ ...base(), maxAttempts: 1 })),
    customerSts: () => track(new STSClient({ ...base(), maxAttempts: 1 })),
    async close() {
      for (const c of clients) c.destroy();
      await admin.close();
      await emulator.close();
    },
  };
}
