import { Agent } from 'node:https';
import { Impersonated, OAuth2Client } from 'google-auth-library';
import { fetchOverAgent } from '@app/provider-gcp';
import { GCP_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/gcp';
import { emulatorAdmin, EmulatorAdmin } from '../support/emulator-admin';
import { startGcpEmulator, type GcpEmulatorHarness } from '../support/gcp-emulator';

/**
 * The vendor's own side of GCP, through google-auth-library's Impersonated client (what Keyhold uses): with strict
 * service accounts on, impersonating an account that was never created answers 404 NOT_FOUND ("Not found; Gaia id
 * not found for email …", what the IAM APIs answer for an unknown account), and one whose IAM policy gives the
 * caller no roles/iam.serviceAccountTokenCreator answers 403 PERMISSION_DENIED
 * ("Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."). Off by default.
 */
let h: GcpEmulatorHarness;
let admin: EmulatorAdmin;
beforeAll(async () => {
  h = await startGcpEmulator();
  admin = emulatorAdmin(h.adminUrl);
});
afterAll(async () => h?.close());

async function impersonate(email: string): Promise<string> {
  const agent = new Agent({ ca: h.caPem });
  const transporterOptions = { agent, fetchImplementation: fetchOverAgent(agent) };
  const source = new OAuth2Client({ transporterOptions });
  source.setCredentials({ access_token: h.vendorToken, expiry_date: Date.now() + 3600_000 });
  const imp = new Impersonated({
    sourceClient: source,
    targetPrincipal: email,
    targetScopes: ['https://www.googleapis.com/auth/cloudkms'],
    lifetime: 600,
    endpoint: h.endpoints.iamCredentials,
    transporterOptions,
  });
  const { token } = await imp.getAccessToken();
  if (!token) throw new Error('no token');
  return token;
}

async function failure(p: Promise<unknown>): Promise<{ status?: number; text: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { status?: number; response?: { status?: number }; message?: string; cause?: unknown };
    return { status: e.status ?? e.response?.status, text: `${e.message ?? ''} ${JSON.stringify(e.cause ?? '')}` };
  }
  throw new Error('expected impersonation to fail');
}

const email = (name: string) => `${name}@keyhold-vendor.iam.gserviceaccount.com`;

it('off by default: any vendor-project email can be impersonated (the local demo needs no setup)', async () => {
  expect(await impersonate(email('never-created-1'))).toBeTruthy();
});

it('strict: a never-created account is 404 NOT_FOUND; a created one works; without Token Creator it is 403 PERMISSION_DENIED', async () => {
  expect((await admin('POST', '/gcp/service-accounts/strict', { enabled: true })).status).toBe(200);
  try {
    const missing = await failure(impersonate(email('never-created-2')));
    expect(missing.status).toBe(404);
    expect(missing.text).toMatch(
      /Gaia id not found for email never-created-2@keyhold-vendor\.iam\.gserviceaccount\.com/,
    );

    const sa = email('keyhold-canary-sa');
    expect((await admin('POST', '/gcp/service-accounts', { email: sa })).status).toBe(201);
    expect(await impersonate(sa)).toBeTruthy();

    const revoked = await admin('POST', '/gcp/service-accounts/token-creators', {
      email: sa,
      member: `serviceAccount:${GCP_EMULATOR_DEFAULTS.vendorServiceAccount}`,
      granted: false,
    });
    expect(revoked.status).toBe(200);
    const denied = await failure(impersonate(sa));
    expect(denied.status).toBe(403);
    expect(denied.text).toMatch(/iam\.serviceAccounts\.getAccessToken' denied/);

    expect((await admin('DELETE', '/gcp/service-accounts', { email: sa })).status).toBe(204);
    expect((await failure(impersonate(sa))).status).toBe(404);
  } finally {
    await admin('POST', '/gcp/service-accounts/strict', { enabled: false });
  }
});

it('refuses malformed admin input with 400', async () => {
  expect((await admin('POST', '/gcp/service-accounts/strict', { enabled: 'yes' })).status).toBe(400);
  expect((await admin('POST', '/gcp/service-accounts', { email: 'not-an-account' })).status).toBe(400);
  expect(
    (
      await admin('POST', '/gcp/service-accounts/token-creators', {
        email: email('nobody-here'),
        member: 'x',
        granted: true,
      })
    ).status,
  ).toBe(404);
});
