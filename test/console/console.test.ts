import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListKeyRotationsCommand,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import * as grpc from '@grpc/grpc-js';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import type { Page } from 'playwright-core';
import { startStack, tenantWithAdmin, type TestStack } from '../support/stack';
import { startTestWorker } from '../support/worker';
import {
  accessibilityViolations,
  buildConsole,
  expectAccessible,
  openBrowser,
  screenshot,
  type TestBrowser,
} from './browser';
import { startConsoleFront } from './console-server';
import { emulatorAdmin as adminClient } from '../support/emulator-admin';
import { azureCustomerKeys } from '../../hardening/lib/azure-customer';

/**
 * The tenant admin console in a real Chromium against the real stack: API + worker in-process, the cloud
 * emulators, Postgres and Redis. Each step drives the UI the way an admin would (labels and roles, not CSS
 * hooks, so the accessibility wiring is exercised too) and checks the outcome against the API or the cloud.
 * One tenant walks through the whole journey in order; later steps build on earlier ones. For each cloud the
 * customer's side is done from exactly what the wizard shows (AWS policies, the Azure role assignment, the GCP IAM
 * bindings), so a wrong instruction in the wizard fails the test.
 */

jest.setTimeout(60_000);

let stack: TestStack;
let worker: { close(): Promise<void> };
let browser: TestBrowser;
let page: Page;
let consoleDir: string;
let admin: Awaited<ReturnType<typeof tenantWithAdmin>>;
/** Where the browser loads the console: the API itself, or a same-origin file front (see startServing). */
let consoleUrl: string;
let front: { close(): Promise<void> } | undefined;

const vendorArn = () => String(stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN);
const rootStatement = () => ({
  Sid: 'Root',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${stack.aws.accountId}:root` },
  Action: 'kms:*',
  Resource: '*',
});

/** Shared across the journey. */
const state = {
  validConfigName: 'prod-aws',
  validConfigId: '',
  keyArn: '',
  /** The key policy statement the wizard showed for the valid configuration's role (restored after the describe-refusal test). */
  keyStatement: null as unknown,
  workspaceId: '',
  workspaceName: 'payments',
  segments: 40,
  /** The Azure and GCP configurations registered through the wizard, and the workspaces bound to them. */
  other: {} as Record<
    'azure' | 'gcp',
    { configName: string; configId: string; workspaceName: string; workspaceId: string }
  >,
  /** The "ingest" service principal (scoped to the AWS workspace), kept in memory for the re-bind test's DEK checks. */
  ingest: { clientId: '', clientSecret: '' },
  /** The "reporting" service principal (AWS and Azure workspaces): the lifecycle test rotates, re-scopes and deletes it. */
  reporting: { clientId: '', clientSecret: '' },
};

/**
 * What Azure's built-in roles allow on a key, in the emulator's data-plane terms (Azure RBAC's role definitions:
 * the encryption-user roles carry keys/read, keys/wrap/action and keys/unwrap/action; Reader only keys/read).
 * The Azure test grants whatever role the wizard names, so a wrong role name or an insufficient role fails it.
 */
const AZURE_ROLE_OPS: Record<string, string[]> = {
  'Key Vault Crypto Service Encryption User': ['get', 'wrapKey', 'unwrapKey'],
  'Managed HSM Crypto Service Encryption User': ['get', 'wrapKey', 'unwrapKey'],
  'Key Vault Crypto User': ['get', 'list', 'wrapKey', 'unwrapKey', 'encrypt', 'decrypt'],
  'Key Vault Reader': ['get', 'list'],
};

/** Calls the emulators' admin API (stands in for the customer's own cloud console). */
const emulatorAdmin = adminClient(() => stack.emulators.admin.url);

beforeAll(async () => {
  consoleDir = buildConsole();
  await startServing();
  worker = await startTestWorker(stack.config, { settings: { providerAttemptsInPlace: 1 } });
  admin = await tenantWithAdmin(stack, `Acme-${Date.now().toString(36)}`);
  browser = await openBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await front?.close();
  await stack?.close();
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

/**
 * The API is meant to serve the console (config.consoleDir). If it cannot boot with a console directory
 * (once @fastify/static's ESM-only dependency failed under jest), serve the same build from a same-origin front that forwards API paths unchanged.
 */
async function startServing() {
  const tuning = { probeConfirmationWindowSeconds: 2, probeConfirmations: 3 };
  try {
    stack = await startStack({ config: { consoleDir, ...tuning } });
    consoleUrl = stack.url;
    return;
  } catch (err) {
    console.warn(
      `API could not serve the console (${String((err as Error).message).split('\n')[0]}); using a same-origin file front`,
    );
  }
  stack = await startStack({ config: tuning });
  front = await startConsoleFront(consoleDir, stack.url);
  consoleUrl = (front as unknown as { url: string }).url;
}

const api = (method: string, path: string, body?: unknown) =>
  stack.http.request(method, `/v1/tenants/${admin.tenant.id}${path}`, { token: admin.token, body });

/** The text of the snippet whose caption is `title`. */
const snippet = (title: string) =>
  page
    .locator('figure', { has: page.getByText(title, { exact: true }) })
    .locator('pre')
    .innerText();

/** Evaluates an expression in the page (a string: the root tsconfig has no DOM types). */
const inBrowser = <T>(expression: string) => page.evaluate<T>(expression);

/** What the page and the API say, for a failure message. */
async function diagnose(): Promise<string> {
  const ws = state.workspaceId ? (await api('GET', `/workspaces/${state.workspaceId}`)).body : null;
  const ops = await inBrowser<string | null>(`sessionStorage.getItem('keyhold.operations')`);
  const opViews = [];
  for (const id of (JSON.parse(ops ?? '{}')[state.workspaceId] ?? []) as string[])
    opViews.push((await api('GET', `/operations/${id}`)).body);
  const text = (await page.locator('body').innerText()).slice(0, 1500);
  return `workspace: ${JSON.stringify(ws)}\noperations: ${JSON.stringify(opViews)}\npage: ${text}\nbrowser: ${browser.problems.join(' | ')}`;
}

/** The workspace page's card of the (single) tracked operation labelled `label`, once it has finished; fails unless it succeeded. */
async function finishedOperationCard(label: string) {
  const card = page.locator('li.op', { has: page.locator('.op-head strong', { hasText: label }) });
  await card
    .locator('.op-state', { hasText: /^(Succeeded|Failed)/ })
    .waitFor({ timeout: 30_000 })
    .catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\n${await diagnose()}`);
    });
  expect(await card.count()).toBe(1);
  const words = await card.innerText();
  if (!/Succeeded/.test(await card.locator('.op-state').innerText()))
    throw new Error(`${label} did not succeed: ${words}\n${await diagnose()}`);
  return { card, words, operationId: String(await card.getAttribute('data-operation-id')) };
}

/** A segment's DEK fetched as the "ingest" service principal, as a digest (the key itself is never printed). */
async function ingestDek(segmentId: string): Promise<{ dekId: string; sha256: string; kekVersion: number }> {
  const tok = await stack.http.post('/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: state.ingest.clientId,
    client_secret: state.ingest.clientSecret,
  });
  expect(tok.status).toBe(200);
  const r = await stack.http.get(
    `/internal/v1/workspaces/${state.workspaceId}/segments/${segmentId}/dek`,
    tok.body.access_token,
  );
  expect(r.status).toBe(200);
  expect(typeof r.body.dek).toBe('string');
  return {
    dekId: r.body.dekId,
    sha256: createHash('sha256').update(String(r.body.dek)).digest('hex'),
    kekVersion: r.body.kekVersion,
  };
}

/** Re-reads `read` until it equals `expected` (10 s), then asserts it. */
async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
  const until = Date.now() + 10_000;
  let v = await read();
  while (JSON.stringify(v) !== JSON.stringify(expected) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  expect(v).toEqual(expected);
}

/** The id of this tenant's service principal called `name`. */
async function principalId(name: string): Promise<string> {
  const listed = (await api('GET', '/service-principals')).body.servicePrincipals as Array<{
    id: string;
    name: string;
  }>;
  return listed.find((x) => x.name === name)!.id;
}

/** Every alert shown so far is words, never the API's JSON. */
async function expectAlertInWords(text: RegExp) {
  const alert = page.getByRole('alert').filter({ hasText: text });
  await alert.first().waitFor();
  const all = await alert.first().innerText();
  expect(all).not.toMatch(/[{}]|"error"|"code"/);
  return all;
}

async function openWizard(provider: 'AWS KMS' | 'Azure Key Vault' | 'Google Cloud KMS', name: string) {
  await page.goto(`${consoleUrl}/#/keys/new`);
  await page.getByRole('heading', { level: 1, name: 'Register a key configuration' }).waitFor();
  await page.getByLabel(provider).check();
  await page.getByLabel('Configuration name').fill(name);
}

/** Submits the wizard and waits for a result in which every check passed, in the UI and in the API. */
async function registerAndExpectEveryCheckPassed(name: string, provider: 'aws' | 'azure' | 'gcp'): Promise<string> {
  await page.getByRole('button', { name: 'Register and validate' }).click();
  await page.getByRole('heading', { name: `Validation of “${name}”` }).waitFor({ timeout: 20_000 });
  const failed = await page.locator('.check-fail').allInnerTexts();
  if (failed.length) throw new Error(`checks failed: ${failed.join(' | ')}`);
  await page.getByText('Every check passed').waitFor();
  const checks = page.getByRole('list', { name: 'Validation checks' }).getByRole('listitem');
  const names: Array<string | null> = [];
  for (const item of await checks.all()) {
    names.push(await item.getAttribute('data-check'));
    expect(await item.innerText()).toMatch(/Passed/);
  }
  expect(names).toEqual(
    expect.arrayContaining(['identifier', 'key_state', 'key_usage', 'round_trip', 'context_binding']),
  );
  const listed = await api('GET', '/key-configurations');
  const items = Array.isArray(listed.body) ? listed.body : (listed.body.items ?? listed.body.keyConfigurations);
  const kc = items.find((c: { name: string }) => c.name === name);
  expect(kc).toMatchObject({ provider, status: 'valid' });
  expect(kc.validation.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
  return kc.id as string;
}

/** Creates a workspace in the console, binds it to `configId`, and checks the page shows the binding and KEK version 1. */
async function createAndBindWorkspace(workspaceName: string, configId: string, configName: string): Promise<string> {
  await page.goto(`${consoleUrl}/#/workspaces`);
  await page.getByLabel('Workspace name').fill(workspaceName);
  await page.getByRole('button', { name: 'Create workspace' }).click();
  await page.getByRole('heading', { level: 1, name: workspaceName }).waitFor();
  await page.locator('.badge', { hasText: 'Unbound' }).waitFor();
  const workspaceId = decodeURIComponent(page.url().split('#/workspaces/')[1]);
  await page.getByLabel('Key configuration', { exact: true }).selectOption(configId);
  await page.getByRole('button', { name: 'Bind', exact: true }).click();
  await page.locator('.facts .badge', { hasText: 'Active' }).waitFor({ timeout: 20_000 });
  const ws = await api('GET', `/workspaces/${workspaceId}`);
  expect(ws.body).toMatchObject({ keyState: 'active', keyConfigurationId: configId, kekVersion: 1 });
  const bound = page.locator('.facts .value-row', { hasText: 'Key configuration' }).locator('dd a');
  await bound.filter({ hasText: configName }).waitFor();
  expect(await bound.getAttribute('href')).toBe(`#/keys/${encodeURIComponent(configId)}`);
  await expect(page.locator('.value-row', { hasText: 'KEK version' }).locator('dd').innerText()).resolves.toBe('1');
  return workspaceId;
}

describe('console', () => {
  it('loads the built console and refuses a wrong password in words', async () => {
    await page.goto(consoleUrl);
    await page.getByRole('heading', { name: 'Sign in to your tenant' }).waitFor();
    await screenshot(page, '01-sign-in');
    await page.getByLabel('Tenant id').fill(admin.tenant.id);
    await page.getByLabel('Email').fill(admin.email);
    await page.getByLabel('Password').fill('not-the-password-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectAlertInWords(/Sign-in failed/);
    expect(await inBrowser<string | null>(`sessionStorage.getItem('keyhold.session')`)).toBeNull();
  });

  it('the accessibility check run on every screenshotted page can fail: a planted unlabeled field and low-contrast text are found', async () => {
    expect(await accessibilityViolations(page)).toEqual([]);
    // through the CSSOM: the console's CSP refuses inline style attributes
    await page.evaluate(`(() => {
      const box = document.createElement('div');
      box.id = 'planted-a11y-defects';
      box.innerHTML = '<input type="text"><p>faint</p>';
      const faint = box.querySelector('p');
      faint.style.color = '#cccccc';
      faint.style.background = '#ffffff';
      document.body.appendChild(box);
    })()`);
    const ids = (await accessibilityViolations(page)).map((v) => v.id);
    await page.evaluate(`document.getElementById('planted-a11y-defects').remove()`);
    expect(ids).toEqual(expect.arrayContaining(['label', 'color-contrast']));
    expect(await accessibilityViolations(page)).toEqual([]);
  });

  it('signs in and shows the identities the customer must trust, with working copy buttons', async () => {
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: admin.tenant.name }).waitFor();
    const externalId = admin.tenant.aws.externalId;
    expect(externalId.length).toBeGreaterThanOrEqual(20);
    await expect(
      page
        .locator('code.value')
        .filter({ hasText: new RegExp(`^${externalId}$`) })
        .count(),
    ).resolves.toBe(1);
    // Azure: the ownership tag the customer sets on each key they give this tenant carries the same ExternalId.
    await expect(
      page.locator('.value-row', { hasText: 'Key ownership tag' }).locator('code.value').innerText(),
    ).resolves.toBe(`keyhold-external-id=${externalId}`);
    await page.getByRole('button', { name: 'Copy ExternalId' }).click();
    await page.getByText('Copied').first().waitFor();
    expect(await inBrowser<string>(`navigator.clipboard.readText()`)).toBe(externalId);
    // The trust policy shown names this tenant's ExternalId and Keyhold's principal.
    const trust = JSON.parse(await snippet('Trust policy for your IAM role'));
    expect(trust.Statement[0].Condition.StringEquals['sts:ExternalId']).toBe(externalId);
    expect(trust.Statement[0].Principal.AWS).toBe(vendorArn());
    // The password never outlives the sign-in request; the token lives in this tab's sessionStorage only.
    expect(await inBrowser<string>(`JSON.stringify({ ...localStorage })`)).toBe('{}');
    expect(await inBrowser<string | null>(`sessionStorage.getItem('keyhold.session')`)).not.toContain(admin.password);
    await screenshot(page, '02-overview');
  });

  it('registers an AWS configuration built from exactly what the wizard told the customer to paste: every check passes', async () => {
    await openWizard('AWS KMS', state.validConfigName);
    // The customer pastes the trust policy as shown into a new role …
    const roleName = `keyhold-console-${Date.now().toString(36)}`;
    const role = await stack.aws.iam.send(
      new CreateRoleCommand({
        RoleName: roleName,
        AssumeRolePolicyDocument: await snippet('Trust policy for your IAM role'),
      }),
    );
    await page.getByLabel('IAM role ARN').fill(role.Role!.Arn!);
    // … and the key policy statement as shown (it updates with the role ARN) into their key's policy.
    const statement = JSON.parse(await snippet('Key policy statement for your KMS key'));
    expect(statement.Principal.AWS).toBe(role.Role!.Arn);
    const key = await stack.aws.kms.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [rootStatement(), statement] }),
        Description: 'console test',
      }),
    );
    state.keyArn = key.KeyMetadata!.Arn!;
    state.keyStatement = statement;
    await page.getByLabel('KMS key ARN').fill(state.keyArn);
    await page.getByRole('button', { name: 'Register and validate' }).click();

    await page.getByRole('heading', { name: `Validation of “${state.validConfigName}”` }).waitFor({ timeout: 20_000 });
    await page.getByText('Every check passed').waitFor();
    const checks = page.getByRole('list', { name: 'Validation checks' }).getByRole('listitem');
    expect(await checks.count()).toBeGreaterThanOrEqual(5);
    expect(await page.locator('.check-fail').count()).toBe(0);
    for (const name of ['assume_role', 'key_state', 'round_trip'])
      await expect(page.locator(`[data-check="${name}"]`).innerText()).resolves.toMatch(/^Passed|✓/m);

    const listed = await api('GET', '/key-configurations');
    const items = Array.isArray(listed.body) ? listed.body : (listed.body.items ?? listed.body.keyConfigurations);
    const kc = items.find((c: { name: string }) => c.name === state.validConfigName);
    expect(kc).toMatchObject({ provider: 'aws', status: 'valid' });
    state.validConfigId = kc.id;
  });

  it('registers an AWS configuration with a multi-Region replica (optional field): the replica check passes and the key page names the replica; axe-clean', async () => {
    const name = `replica-${Date.now().toString(36)}`;
    await openWizard('AWS KMS', name);
    const role = await stack.aws.iam.send(
      new CreateRoleCommand({
        RoleName: `keyhold-replica-${Date.now().toString(36)}`,
        AssumeRolePolicyDocument: await snippet('Trust policy for your IAM role'),
      }),
    );
    await page.getByLabel('IAM role ARN').fill(role.Role!.Arn!);
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [rootStatement(), JSON.parse(await snippet('Key policy statement for your KMS key'))],
    });
    const primary = (await stack.aws.kms.send(new CreateKeyCommand({ Policy: policy, MultiRegion: true }))).KeyMetadata!
      .Arn!;
    const replica = (
      await stack.aws.kms.send(new ReplicateKeyCommand({ KeyId: primary, ReplicaRegion: 'eu-west-1', Policy: policy }))
    ).ReplicaKeyMetadata!.Arn!;
    await page.getByLabel('KMS key ARN').fill(primary);
    await page.getByLabel('Replica key ARN (optional)').fill(replica);
    await expectAccessible(page, 'register wizard with a replica key');
    const id = await registerAndExpectEveryCheckPassed(name, 'aws');
    await expect(page.locator('[data-check="replica_key"]').innerText()).resolves.toMatch(/^Passed|✓/m);
    await page.goto(`${consoleUrl}/#/keys/${encodeURIComponent(id)}`);
    await page.getByText(replica).first().waitFor();
    await expectAccessible(page, 'key configuration with a replica key');
  });

  it('an AWS role that does not require the ExternalId is reported as a failed check with its fix; re-validation runs again', async () => {
    await openWizard('AWS KMS', 'no-external-id');
    const roleName = `keyhold-console-open-${Date.now().toString(36)}`;
    const roleArn = await stack.aws.createRole(roleName, vendorArn(), null);
    await page.getByLabel('IAM role ARN').fill(roleArn);
    const statement = JSON.parse(await snippet('Key policy statement for your KMS key'));
    const key = await stack.aws.kms.send(
      new CreateKeyCommand({
        Policy: JSON.stringify({ Version: '2012-10-17', Statement: [rootStatement(), statement] }),
      }),
    );
    await page.getByLabel('KMS key ARN').fill(key.KeyMetadata!.Arn!);
    await page.getByRole('button', { name: 'Register and validate' }).click();

    await page.getByText('Not valid yet.').waitFor({ timeout: 20_000 });
    const failed = page.locator('.check-fail');
    expect(await failed.count()).toBeGreaterThanOrEqual(1);
    const text = await failed.first().innerText();
    expect(text).toMatch(/Failed/);
    expect(text).toMatch(/ExternalId/);
    expect(text).toMatch(/How to fix:/);
    await page.locator('.check-fail').first().scrollIntoViewIfNeeded();
    await screenshot(page, '03-key-configuration-wizard-checks');

    // Validate again: a real second validation (the API records validatedAt) that still fails.
    await page.getByRole('button', { name: 'Validate again' }).click();
    await page.getByRole('button', { name: 'Validate again' }).waitFor();
    await page.getByText('Not valid yet.').waitFor();
    const audit = await api('GET', '/audit-events?limit=1000');
    expect(audit.body.events.some((e: { action: string }) => e.action === 'key_configuration.validated')).toBe(true);
  });

  it('a malformed AWS identifier is refused with the reason in words', async () => {
    await openWizard('AWS KMS', 'typo');
    await page.getByLabel('IAM role ARN').fill('arn:aws:iam::111122223333:role/x');
    await page.getByLabel('KMS key ARN').fill('not-an-arn');
    await page.getByRole('button', { name: 'Register and validate' }).click();
    const text = await expectAlertInWords(/The configuration was not registered/);
    expect(text).toMatch(/not in the expected format|not valid/);
  });

  it.each([
    [
      'azure',
      'Azure Key Vault',
      async (): Promise<string> => {
        await page.getByLabel('Key identifier URL').fill('https://169.254.169.254/keys/k');
        await page.getByLabel('Microsoft Entra tenant id').fill('11111111-2222-3333-4444-555555555555');
        return 'Role assignment on your Key Vault key';
      },
    ],
    [
      'gcp',
      'Google Cloud KMS',
      async (): Promise<string> => {
        await page.getByLabel('CryptoKey resource name').fill('projects/p/keyRings/missing-location');
        return 'IAM bindings on your CryptoKey';
      },
    ],
  ] as const)(
    '%s: the wizard shows what to grant and explains a refused registration in words',
    async (provider, label, fill) => {
      await openWizard(label, `bad-${provider}`);
      const snippetTitle = await fill();
      const identity = admin.tenant[provider];
      if (provider === 'gcp' && identity)
        await expect(page.getByLabel('Service account').inputValue()).resolves.toBe(identity.serviceAccount);
      expect(await snippet(snippetTitle)).toMatch(
        provider === 'azure'
          ? /az role assignment create|az keyvault role assignment/
          : /gcloud kms keys add-iam-policy-binding/,
      );
      await page.getByRole('button', { name: 'Register and validate' }).click();
      const text = await expectAlertInWords(/The configuration was not registered/);
      // With the cloud configured the identifier is refused; without it, the installation says so.
      expect(text).toMatch(
        identity ? /not in the expected format|not valid/ : /not enabled on this Keyhold installation/,
      );
    },
  );

  it('azure: a key granted exactly what the wizard shows registers with every check passed', async () => {
    const endpoints = (await emulatorAdmin('GET', '/azure/endpoints')).body;
    const entraTenantId = String(endpoints.tenantId);
    expect(endpoints.vaultUrl).toBe(stack.emulators.azureVaultUrl);
    expect(entraTenantId).toMatch(/^[0-9a-f-]{36}$/);
    const keyName = `console-${randomBytes(4).toString('hex')}`;
    expect((await emulatorAdmin('POST', '/azure/keys', { name: keyName })).status).toBe(201);

    const configName = 'vault-azure';
    await openWizard('Azure Key Vault', configName);
    await page.getByLabel('Key identifier URL').fill(`${stack.emulators.azureVaultUrl}/keys/${keyName}`);
    await page.getByLabel('Microsoft Entra tenant id').fill(entraTenantId);
    const grant = await snippet('Role assignment on your Key Vault key');

    // What the customer runs, read back from the snippet: sign in to their directory …
    expect(/az login --tenant (\S+)/.exec(grant)?.[1]).toBe(entraTenantId);
    // … let Keyhold's application in (`az ad sp create`: the emulator's vendor app is consented in that tenant) …
    const appId = /az ad sp create --id (\S+)/.exec(grant)?.[1];
    expect(appId).toBe(admin.tenant.azure.clientId);
    const apps = (await emulatorAdmin('GET', '/azure/principals')).body.principals as Array<{
      clientId: string;
      tenants: string[];
    }>;
    expect(apps.find((a) => a.clientId === appId)?.tenants).toContain(entraTenantId);
    // … and assign the role the snippet names, to the assignee it names, on exactly the key it names.
    const m =
      /az role assignment create --role "([^"]+)" \\\s+--assignee (\S+) \\\s+--scope "\$\(az keyvault show --name (\S+) --query id -o tsv\)\/keys\/([^"]+)"/.exec(
        grant,
      );
    if (!m) throw new Error(`unexpected Azure grant snippet:\n${grant}`);
    const [, role, assignee, vault, scopedKey] = m;
    expect(assignee).toBe(appId);
    expect(vault).toBe(new URL(stack.emulators.azureVaultUrl).hostname.split('.')[0]);
    expect(scopedKey).toBe(keyName);
    const ops = AZURE_ROLE_OPS[role];
    if (!ops) throw new Error(`the wizard names a role this test does not know: ${role}`);
    const granted = await emulatorAdmin('POST', '/azure/grants', {
      tenantId: entraTenantId,
      clientId: assignee,
      key: scopedKey,
      ops,
    });
    expect(granted.status).toBe(201);

    // … then tag the key for this Keyhold tenant exactly as the wizard says, through the real Key Vault SDK as the
    // key's owner. Without this step (or with another tag or value) the key's ownership check fails and so does
    // the registration below.
    const tagStep = await snippet('Ownership tag on your Key Vault key');
    const tagMatch = /az keyvault key set-attributes --vault-name (\S+) --name (\S+) \\\s+--tags ([^=\s]+)=(\S+)/.exec(
      tagStep,
    );
    if (!tagMatch) throw new Error(`the wizard does not show the ownership tag step:\n${tagStep}`);
    const [, tagVault, tagKey, tagName, tagValue] = tagMatch;
    expect(tagVault).toBe(vault);
    expect(tagKey).toBe(keyName);
    // The value is this tenant's own ExternalId (the one shown on the tenant), never a placeholder.
    expect(tagValue).toBe(admin.tenant.azure.externalId);
    const owner = azureCustomerKeys(stack.config.providerEnv, stack.emulators.azureVaultUrl);
    try {
      await owner.keys.updateKeyProperties(tagKey, { tags: { [tagName]: tagValue } });
    } finally {
      owner.close();
    }

    const id = await registerAndExpectEveryCheckPassed(configName, 'azure');
    await expect(page.locator('[data-check="credentials"]').innerText()).resolves.toMatch(/Passed/);
    state.other.azure = { configName, configId: id, workspaceName: 'vault-ws', workspaceId: '' };
  });

  it('gcp: a key bound to exactly the roles the wizard shows registers with every check passed', async () => {
    const env = stack.config.providerEnv;
    const [host, port] = String(env.KEYHOLD_GCP_KMS_ENDPOINT).split(':');
    // The customer's own Cloud KMS client: no caller identity, so the emulator treats it as the project owner.
    const customer = new KeyManagementServiceClient({
      apiEndpoint: host,
      port: Number(port),
      sslCreds: grpc.credentials.createSsl(Buffer.from(String(env.KEYHOLD_GCP_CA_PEM))),
      authClient: new OAuth2Client(),
    });
    try {
      const [ring] = await customer.createKeyRing({
        parent: 'projects/customer-proj/locations/europe-west1',
        keyRingId: `console-${randomBytes(4).toString('hex')}`,
        keyRing: {},
      });
      const [key] = await customer.createCryptoKey({
        parent: ring.name!,
        cryptoKeyId: 'kek',
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
      });

      const configName = 'cloudkms-gcp';
      await openWizard('Google Cloud KMS', configName);
      await page.getByLabel('CryptoKey resource name').fill(key.name!);
      const sa = admin.tenant.gcp.serviceAccount;
      await page.getByText(`serviceAccount:${sa}`).first().waitFor();
      await expect(page.getByLabel('Service account').inputValue()).resolves.toBe(sa);
      const text = await snippet('IAM bindings on your CryptoKey');

      // Apply each `gcloud kms keys add-iam-policy-binding` as gcloud does: read the policy, add the binding, write it.
      const re =
        /gcloud kms keys add-iam-policy-binding (\S+) --project (\S+) --location (\S+) --keyring (\S+) \\\s+--member (\S+) --role (\S+)/g;
      const commands = [...text.matchAll(re)];
      expect(commands.length).toBeGreaterThanOrEqual(1);
      type SetIamPolicyArg = Parameters<KeyManagementServiceClient['setIamPolicy']>[0];
      type GetIamPolicyArg = Parameters<KeyManagementServiceClient['getIamPolicy']>[0];
      for (const [, k, project, location, keyRing, member, role] of commands) {
        const resource = `projects/${project}/locations/${location}/keyRings/${keyRing}/cryptoKeys/${k}`;
        expect(resource).toBe(key.name);
        expect(member).toBe(`serviceAccount:${sa}`);
        const [policy] = await customer.getIamPolicy({ resource } as unknown as GetIamPolicyArg);
        const bindings = (policy.bindings ?? []).map((b) => ({ role: b.role!, members: [...(b.members ?? [])] }));
        const existing = bindings.find((b) => b.role === role);
        if (existing) existing.members.push(member);
        else bindings.push({ role, members: [member] });
        await customer.setIamPolicy({
          resource,
          policy: { bindings, etag: policy.etag },
        } as unknown as SetIamPolicyArg);
      }

      const id = await registerAndExpectEveryCheckPassed(configName, 'gcp');
      await expect(page.locator('[data-check="impersonation"]').innerText()).resolves.toMatch(/Passed/);
      state.other.gcp = { configName, configId: id, workspaceName: 'cloudkms-ws', workspaceId: '' };
    } finally {
      await customer.close();
    }
  });

  it('creates a workspace and binds it to the valid configuration', async () => {
    state.workspaceId = await createAndBindWorkspace(state.workspaceName, state.validConfigId, state.validConfigName);
  });

  it.each(['azure', 'gcp'] as const)(
    '%s: binds a workspace; its page shows the bound configuration and KEK version 1',
    async (provider) => {
      const o = state.other[provider];
      if (!o?.configId) throw new Error(`the ${provider} configuration was not registered by the earlier test`);
      o.workspaceId = await createAndBindWorkspace(o.workspaceName, o.configId, o.configName);
    },
  );

  it('creates a service principal whose secret is shown once and works on the internal DEK API', async () => {
    await page.goto(`${consoleUrl}/#/service-principals`);
    await page.getByLabel('Name').fill('ingest');
    await page.getByLabel(state.workspaceName).check();
    await page.getByRole('button', { name: 'Create service principal' }).click();
    await page.getByRole('heading', { name: /Copy the client secret now/ }).waitFor();
    const clientId = await page.locator('.value-row', { hasText: 'Client id' }).locator('code').innerText();
    const clientSecret = await page.locator('.value-row', { hasText: 'Client secret' }).locator('code').innerText();
    const tok = await stack.http.post('/v1/auth/token', {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    });
    expect(tok.status).toBe(200);
    state.ingest = { clientId, clientSecret };
    const segmentIds = Array.from({ length: state.segments }, (_, i) => `seg-${i}`);
    const deks = await stack.http.post(
      `/internal/v1/workspaces/${state.workspaceId}/deks:batchGet`,
      { segmentIds },
      tok.body.access_token,
    );
    expect(deks.status).toBe(200);
    expect(deks.body.deks).toHaveLength(state.segments);
    // Dismissed, the secret is gone from the page (and was never stored in the browser).
    await page.getByRole('button', { name: 'I have stored the secret' }).click();
    await expect(page.getByText(clientSecret).count()).resolves.toBe(0);
    expect(await inBrowser<string>(`JSON.stringify({ ...sessionStorage })`)).not.toContain(clientSecret);
  });

  it('lists service principals with client id, workspaces by name and created date, refreshed after creating one; never a secret', async () => {
    const azureWs = state.other.azure;
    if (!azureWs?.workspaceId) throw new Error('the Azure workspace was not bound by the earlier test');
    await page.goto(`${consoleUrl}/#/service-principals`);
    await page.reload(); // a fresh visit, not the page state left by the previous test
    const table = page.getByRole('table', { name: 'Existing service principals' });
    const ingest = table.getByRole('row', { name: /ingest/ });
    await ingest.waitFor();
    await expect(table.getByRole('row', { name: /reporting/ }).count()).resolves.toBe(0);

    // Created here, it appears in the list without reloading the page.
    await page.getByLabel('Name').fill('reporting');
    await page.getByLabel(state.workspaceName).check();
    await page.getByLabel(azureWs.workspaceName).check();
    await page.getByRole('button', { name: 'Create service principal' }).click();
    await page.getByRole('heading', { name: /Copy the client secret now/ }).waitFor();
    const clientId = await page.locator('.value-row', { hasText: 'Client id' }).locator('code').innerText();
    const clientSecret = await page.locator('.value-row', { hasText: 'Client secret' }).locator('code').innerText();
    state.reporting = { clientId, clientSecret };
    const row = table.getByRole('row', { name: /reporting/ });
    await row.waitFor();
    // Shown once: in the banner only, never in the list.
    await expect(page.getByText(clientSecret).count()).resolves.toBe(1);

    const listed = await api('GET', '/service-principals');
    expect(listed.status).toBe(200);
    const items = listed.body.servicePrincipals as Array<Record<string, unknown>>;
    for (const sp of items)
      expect(Object.keys(sp).sort()).toEqual([
        'clientCertificateSha256',
        'clientId',
        'createdAt',
        'disabled',
        'id',
        'ipAllowList',
        'name',
        'permissions',
        'workspaceIds',
      ]);
    expect(JSON.stringify(listed.body)).not.toContain(clientSecret);
    const mine = items.find((sp) => sp.clientId === clientId)!;
    expect(mine).toMatchObject({ name: 'reporting' });
    expect([...(mine.workspaceIds as string[])].sort()).toEqual([state.workspaceId, azureWs.workspaceId].sort());
    expect(items.map((sp) => sp.name)).toEqual(['ingest', 'reporting']);

    // The row: name, client id (with a working copy button), the workspaces by name, the creation date.
    await expect(row.locator('code.value').innerText()).resolves.toBe(clientId);
    const links = row.getByRole('list', { name: 'Workspaces reporting may access' }).getByRole('link');
    expect(await links.allInnerTexts()).toEqual([state.workspaceName, azureWs.workspaceName].sort());
    expect(await links.first().getAttribute('href')).toMatch(/^#\/workspaces\/[0-9a-f-]{36}$/);
    await expect(row.locator('time').getAttribute('datetime')).resolves.toBe(mine.createdAt);
    const words = (d: string) => d.replace(/\s+/g, ' ');
    const expected = new Date(String(mine.createdAt)).toLocaleString('en-US', {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: 'UTC',
    });
    expect(words(await row.locator('time').innerText())).toBe(words(expected));
    await page.getByRole('button', { name: 'I have stored the secret' }).click();
    await expect(page.getByText(clientSecret).count()).resolves.toBe(0);
    await row.getByRole('button', { name: 'Copy client id of reporting' }).focus();
    await page.keyboard.press('Enter');
    await row.getByText('Copied').waitFor();
    expect(await inBrowser<string>(`navigator.clipboard.readText()`)).toBe(clientId);
    expect(await table.innerText()).not.toContain(clientSecret);

    // Tenant-scoped: another tenant's admin sees none of these.
    const other = await tenantWithAdmin(stack, `Other-${Date.now().toString(36)}`);
    const theirs = await stack.http.get(`/v1/tenants/${other.tenant.id}/service-principals`, other.token);
    expect(theirs.status).toBe(200);
    expect(theirs.body.servicePrincipals).toEqual([]);
    await screenshot(page, '08-service-principals');
  });

  it('rotates a service principal secret (shown once, old one stopped at once), disables, re-scopes and deletes it; axe-clean', async () => {
    const azureWs = state.other.azure;
    const sp = state.reporting;
    if (!sp.clientId) throw new Error('the reporting service principal was not created by the earlier test');
    const problemsBefore = browser.problems.length;
    const issue = (secret: string) =>
      stack.http.post('/v1/auth/token', {
        grant_type: 'client_credentials',
        client_id: sp.clientId,
        client_secret: secret,
      });
    const dek = (token: string) =>
      stack.http.get(`/internal/v1/workspaces/${state.workspaceId}/segments/rot-1/dek`, token);
    const oldToken = (await issue(sp.clientSecret)).body.access_token as string;
    expect((await dek(oldToken)).status).toBe(200);

    await page.goto(`${consoleUrl}/#/service-principals`);
    await page.reload();
    const table = page.getByRole('table', { name: 'Existing service principals' });
    await table
      .getByRole('row', { name: /reporting/ })
      .getByRole('button', { name: 'Manage reporting' })
      .click();
    const panel = page.getByRole('region', { name: /Manage “reporting”/ });
    await panel.waitFor();
    await panel.locator('.badge', { hasText: 'Enabled' }).waitFor();
    await expectAccessible(page, 'service principal panel');
    const secretsBefore = (await api('GET', `/service-principals/${await principalId('reporting')}`)).body
      .secrets as Array<{ id: string }>;
    expect(secretsBefore).toHaveLength(1);
    await expect(
      panel.getByRole('table', { name: 'Live client secrets of reporting' }).getByRole('row').count(),
    ).resolves.toBe(2);

    // Rotate with the old secret stopped at once: the new secret is shown once; the old secret and its token stop.
    await panel.getByLabel('Stop it now').check();
    await panel.getByRole('button', { name: 'Rotate secret' }).click();
    const banner = panel.getByRole('alert').filter({ hasText: 'Copy the new client secret now' });
    await banner.waitFor();
    await banner.getByText('The previous secret has stopped working.').waitFor();
    const newSecret = await banner.locator('.value-row', { hasText: 'New client secret' }).locator('code').innerText();
    expect(newSecret).not.toBe(sp.clientSecret);
    await expectAccessible(page, 'secret rotation banner');
    await screenshot(page, '13-service-principal-rotation');
    expect((await dek(oldToken)).status).toBe(401);
    expect((await issue(sp.clientSecret)).status).toBe(401);
    const newToken = await issue(newSecret);
    expect(newToken.status).toBe(200);
    expect((await dek(newToken.body.access_token)).status).toBe(200);
    await banner.getByRole('button', { name: 'I have stored the secret' }).click();
    await expect(page.getByText(newSecret).count()).resolves.toBe(0);
    expect(await inBrowser<string>(`JSON.stringify({ ...sessionStorage, ...localStorage })`)).not.toContain(newSecret);

    // Rotate again with a one-hour overlap: both secrets are listed, the previous one with its end.
    await panel.getByLabel('1 hour').check();
    await panel.getByRole('button', { name: 'Rotate secret' }).click();
    const second = panel.getByRole('alert').filter({ hasText: 'Copy the new client secret now' });
    await second.getByText(/The previous secret keeps working until/).waitFor();
    const third = await second.locator('.value-row', { hasText: 'New client secret' }).locator('code').innerText();
    await second.getByRole('button', { name: 'I have stored the secret' }).click();
    const secretRows = panel.getByRole('table', { name: 'Live client secrets of reporting' }).getByRole('row');
    await eventually(() => secretRows.count(), 3);
    expect((await issue(newSecret)).status).toBe(200);
    // Revoke the previous one now from its row.
    const detail = (await api('GET', `/service-principals/${await principalId('reporting')}`)).body;
    const previous = detail.secrets.find((x: { expiresAt: string | null }) => x.expiresAt !== null);
    await panel.getByRole('button', { name: `Revoke now: secret ${previous.id}` }).click();
    await eventually(() => secretRows.count(), 2);
    expect((await issue(newSecret)).status).toBe(401);
    expect((await issue(third)).status).toBe(200);

    // Disable: the token the service holds stops; enable again.
    const held = (await issue(third)).body.access_token as string;
    await panel.getByRole('button', { name: 'Disable service principal' }).click();
    await panel.locator('.badge', { hasText: 'Disabled' }).waitFor();
    await table
      .getByRole('row', { name: /reporting/ })
      .locator('.badge', { hasText: 'Disabled' })
      .waitFor();
    expect((await dek(held)).status).toBe(401);
    await panel.getByRole('button', { name: 'Enable service principal' }).click();
    await panel.locator('.badge', { hasText: 'Enabled' }).waitFor();

    // Narrow the scope to the AWS workspace.
    await panel
      .getByRole('group', { name: 'Workspaces reporting may fetch data keys for' })
      .getByLabel(azureWs.workspaceName)
      .uncheck();
    await panel.getByRole('button', { name: 'Save scope' }).click();
    await eventually(
      async () => (await api('GET', `/service-principals/${await principalId('reporting')}`)).body.workspaceIds,
      [state.workspaceId],
    );

    // Bind it to a client certificate: its tokens are refused on a connection without that certificate; unbind.
    const bound = (await issue(third)).body.access_token as string;
    const fingerprint = 'ab'.repeat(32);
    await panel
      .getByLabel(/SHA-256 fingerprint of the only client certificate/)
      .fill(fingerprint.toUpperCase().match(/../g)!.join(':'));
    await panel.getByRole('button', { name: 'Save certificate' }).click();
    await eventually(
      async () =>
        (await api('GET', `/service-principals/${await principalId('reporting')}`)).body.clientCertificateSha256,
      fingerprint,
    );
    expect((await dek(bound)).body.error.code).toBe('CLIENT_CERTIFICATE_MISMATCH');
    await expectAccessible(page, 'service principal panel with a bound certificate');
    // the panel re-reads the principal after a save and refills the field from it (in the server's form: lower case,
    // no colons): clear it only once that re-read has landed, or the refill can put the fingerprint back before the click
    const certField = panel.getByLabel(/SHA-256 fingerprint of the only client certificate/);
    await eventually(() => certField.inputValue(), fingerprint);
    await certField.fill('');
    await panel.getByRole('button', { name: 'Save certificate' }).click();
    await eventually(
      async () =>
        (await api('GET', `/service-principals/${await principalId('reporting')}`)).body.clientCertificateSha256,
      null,
    );
    expect((await dek(bound)).status).toBe(200);

    // Delete, after a confirmation.
    await panel.getByRole('button', { name: 'Delete service principal…' }).click();
    const confirm = panel.getByRole('alertdialog');
    await confirm.getByText(/This cannot be undone/).waitFor();
    await expectAccessible(page, 'delete confirmation');
    await confirm.getByRole('button', { name: 'Yes, delete “reporting”' }).click();
    await panel.waitFor({ state: 'detached' });
    await eventually(() => table.getByRole('row', { name: /reporting/ }).count(), 0);
    expect((await issue(third)).status).toBe(401);
    const listed = (await api('GET', '/service-principals')).body.servicePrincipals as Array<{ name: string }>;
    expect(listed.map((x) => x.name)).toEqual(['ingest']);
    expect(browser.problems.slice(problemsBefore)).toEqual([]);
  });

  it('runs a KEK rotation with a live progress bar that reaches 100%', async () => {
    await page.goto(`${consoleUrl}/#/workspaces/${state.workspaceId}`);
    await page.getByRole('button', { name: 'Rotate KEK' }).click();
    const bar = page.getByRole('progressbar', { name: 'KEK rotation progress' });
    await bar.waitFor();
    await page.locator('.op-succeeded, .op-failed').waitFor({ timeout: 30_000 });
    expect(await page.locator('.op').first().innerText()).toMatch(/Succeeded/);
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    const [done, total] = (await page.locator('.op-succeeded .progress-text').innerText())
      .split('·')[1]
      .split('/')
      .map((s) => Number(s.trim()));
    expect(total).toBeGreaterThanOrEqual(state.segments);
    expect(done).toBe(total);
    await page.locator('.value-row', { hasText: 'KEK version' }).locator('dd', { hasText: '2' }).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Operations', exact: true }).scrollIntoViewIfNeeded();
    expect((await api('GET', `/workspaces/${state.workspaceId}`)).body).toMatchObject({
      keyState: 'active',
      kekVersion: 2,
    });
    await screenshot(page, '05-workspace-detail-progress');
  });

  it('explains why a bound configuration cannot be deleted (409)', async () => {
    await page.goto(`${consoleUrl}/#/keys/${state.validConfigId}`);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    const text = await expectAlertInWords(/The configuration was not deleted/);
    expect(text).toMatch(/still bound to at least one workspace/);
    expect((await api('GET', `/key-configurations/${state.validConfigId}`)).status).toBe(200);
  });

  it('a key policy that refuses DescribeKey but allows the unwrap: the workspace stays active and the key page says what to grant; axe-clean', async () => {
    const putPolicy = (...statements: unknown[]) =>
      stack.aws.kms.send(
        new PutKeyPolicyCommand({
          KeyId: state.keyArn,
          PolicyName: 'default',
          Policy: JSON.stringify({ Version: '2012-10-17', Statement: [rootStatement(), ...statements] }),
        }),
      );
    const keyholdStatement = state.keyStatement as { Action: string[] };
    const check = async () => {
      const requested = await api('POST', `/workspaces/${state.workspaceId}/operations`, { kind: 'revocation-check' });
      expect(requested.status).toBe(202);
      const until = Date.now() + 20_000;
      for (;;) {
        const op = (await api('GET', `/operations/${requested.body.operationId}`)).body;
        if (op.state === 'succeeded' || op.state === 'failed') return op;
        if (Date.now() > until) throw new Error(`revocation check did not finish: ${JSON.stringify(op)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await putPolicy({
      ...keyholdStatement,
      Action: keyholdStatement.Action.filter((a) => a !== 'kms:DescribeKey' && a !== 'kms:ListKeyRotations'),
    });
    const warning = page.locator('[data-probe-warning="describe_denied"]');
    try {
      expect((await check()).result).toMatchObject({ outcome: 'active', warning: 'describe_denied' });
      expect((await api('GET', `/workspaces/${state.workspaceId}`)).body.keyState).toBe('active');

      // The previous test left the browser on this page: reload so it reads the configuration again.
      await page.goto(`${consoleUrl}/#/keys/${state.validConfigId}`);
      await page.reload();
      await warning.waitFor();
      const words = await warning.innerText();
      expect(words).toMatch(/cannot describe it/);
      expect(words).toMatch(/kms:DescribeKey/);
      expect(words).toMatch(/never shreds/);
      await expectAccessible(page, 'key configuration with a describe warning');
      await screenshot(page, '03b-key-describe-warning');
    } finally {
      // The later tests (CMK rewrap) need DescribeKey back.
      await putPolicy(keyholdStatement);
    }
    expect((await check()).result).toMatchObject({ outcome: 'active' });
    await page.reload();
    await page.getByRole('heading', { name: 'Validation' }).waitFor();
    expect(await warning.count()).toBe(0);
  });

  it('lists workspaces with their state, configuration and KEK version', async () => {
    await page.goto(`${consoleUrl}/#/workspaces`);
    const row = page.getByRole('row', { name: new RegExp(state.workspaceName) });
    await row.waitFor();
    const text = await row.innerText();
    expect(text).toMatch(/Active/);
    expect(text).toMatch(new RegExp(state.validConfigName));
    expect(text).toMatch(/\b2\b/);
    await screenshot(page, '04-workspaces');
  });

  it('a disabled customer key + "check access now" shreds the workspace and shows the banner; reinstate after re-enabling', async () => {
    await stack.aws.kms.send(new DisableKeyCommand({ KeyId: state.keyArn }));
    await page.goto(`${consoleUrl}/#/workspaces/${state.workspaceId}`);
    await page.getByRole('button', { name: 'Check access now' }).click();
    const banner = page.getByRole('heading', { name: /This workspace is shredded/ });
    await banner.waitFor({ timeout: 30_000 }).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}\n${await diagnose()}`);
    });
    const bannerText = await page.locator('.banner-bad').innerText();
    expect(bannerText).toMatch(/disabled/);
    expect(bannerText).toMatch(/restore access/i);
    expect((await api('GET', `/workspaces/${state.workspaceId}`)).body.keyState).toBe('shredded');
    await screenshot(page, '06-shredded-banner');

    await page.goto(`${consoleUrl}/#/workspaces`);
    await expectAlertInWords(/lost access to the customer key/);

    await stack.aws.kms.send(new EnableKeyCommand({ KeyId: state.keyArn }));
    await page.goto(`${consoleUrl}/#/workspaces/${state.workspaceId}`);
    await page.getByRole('button', { name: /reinstate/ }).click();
    await page.locator('.facts .badge', { hasText: 'Active' }).waitFor({ timeout: 30_000 });
    await expect(page.locator('.banner-bad').count()).resolves.toBe(0);
  });

  it('after the customer rotates the AWS key, "Rewrap under current CMK" rewraps the KEK under the new key material', async () => {
    // The customer rotates their key on demand (AWS KMS RotateKeyOnDemand, as the key's account root).
    const listCurrent = async () =>
      ((await stack.aws.kms.send(new ListKeyRotationsCommand({ KeyId: state.keyArn }))).Rotations ?? []).find(
        (r) => r.KeyMaterialState === 'CURRENT',
      )?.KeyMaterialId;
    const before = await listCurrent();
    await stack.aws.kms.send(new RotateKeyOnDemandCommand({ KeyId: state.keyArn }));
    const rotatedTo = await listCurrent();
    expect(rotatedTo).toEqual(expect.any(String));
    expect(rotatedTo).not.toBe(before);

    await page.goto(`${consoleUrl}/#/workspaces/${state.workspaceId}`);
    await page.locator('.facts .badge', { hasText: 'Active' }).waitFor();
    await page.getByRole('button', { name: 'Rewrap under current CMK' }).click();
    await page.getByRole('progressbar', { name: 'CMK rewrap progress' }).waitFor();
    const { card, words, operationId } = await finishedOperationCard('CMK rewrap');

    // The API's account of the operation: every live KEK version (at least the current one) now under the new material.
    const ws = (await api('GET', `/workspaces/${state.workspaceId}`)).body;
    const op = await api('GET', `/operations/${operationId}`);
    expect(op.body).toMatchObject({
      kind: 'cmk-rewrap',
      workspaceId: state.workspaceId,
      state: 'succeeded',
      result: { keyVersion: rotatedTo },
    });
    const versions = op.body.result.kekVersions as number[];
    expect(versions).toContain(ws.kekVersion);
    // … and the card says the same in words.
    const list = `KEK version${versions.length === 1 ? '' : 's'} ${versions.join(', ')}`;
    expect(await card.locator('.op-result').innerText()).toBe(
      `Rewrapped ${list} under customer key version ${rotatedTo}.`,
    );
    expect(words).not.toMatch(/[{}]/);
    await expect(card.getByRole('progressbar').getAttribute('aria-valuenow')).resolves.toBe('100');
    await page.locator('.facts .badge', { hasText: 'Active' }).waitFor();
    expect(ws).toMatchObject({ keyState: 'active', keyConfigurationId: state.validConfigId });
  });

  it('re-binds the AWS workspace to the Azure configuration from its page: the re-key runs live, DEKs are unchanged', async () => {
    const azure = state.other.azure;
    if (!azure?.configId) throw new Error('the Azure configuration was not registered by the earlier test');
    if (!state.ingest.clientSecret) throw new Error('the service principal was not created by the earlier test');
    const dekBefore = await ingestDek('seg-7');
    const wsBefore = (await api('GET', `/workspaces/${state.workspaceId}`)).body;

    await page.goto(`${consoleUrl}/#/workspaces/${state.workspaceId}`);
    const form = page.locator('form', {
      has: page.getByRole('heading', { level: 2, name: 'Move to another key configuration' }),
    });
    await form.waitFor();
    // The bound configuration is not offered; the Azure one is, by name and cloud.
    const select = form.getByLabel('Key configuration', { exact: true });
    const offered = await select.locator('option').allInnerTexts();
    expect(offered.some((o) => o.startsWith(state.validConfigName))).toBe(false);
    expect(offered).toContain(`${azure.configName} — Azure Key Vault`);
    await select.selectOption(azure.configId);
    await form.getByRole('button', { name: 'Re-key to this configuration' }).click();
    await page.getByRole('progressbar', { name: 'Re-key to another configuration progress' }).waitFor();
    const { card, operationId } = await finishedOperationCard('Re-key to another configuration');

    // When it finished, the page shows the new configuration by name (linked) and the workspace active again.
    const bound = page.locator('.facts .value-row', { hasText: 'Key configuration' }).locator('dd a');
    await bound.filter({ hasText: azure.configName }).waitFor();
    expect(await bound.getAttribute('href')).toBe(`#/keys/${encodeURIComponent(azure.configId)}`);
    await page.locator('.facts .badge', { hasText: 'Active' }).waitFor();
    await expect(page.locator('.value-row', { hasText: 'KEK version' }).locator('dd').innerText()).resolves.toBe(
      String(wsBefore.kekVersion),
    );

    // The API agrees: the binding moved, the KEK version did not, and the operation says which KEK versions moved.
    const ws = (await api('GET', `/workspaces/${state.workspaceId}`)).body;
    expect(ws).toMatchObject({
      keyState: 'active',
      keyConfigurationId: azure.configId,
      kekVersion: wsBefore.kekVersion,
    });
    expect(wsBefore.keyConfigurationId).toBe(state.validConfigId);
    const op = (await api('GET', `/operations/${operationId}`)).body;
    expect(op).toMatchObject({
      kind: 'rekey',
      state: 'succeeded',
      targetKeyConfigurationId: azure.configId,
      result: { keyConfigurationId: azure.configId },
    });
    const versions = op.result.kekVersions as number[];
    expect(versions).toContain(ws.kekVersion);
    const list = `KEK version${versions.length === 1 ? '' : 's'} ${versions.join(', ')}`;
    expect(await card.locator('.op-result').innerText()).toBe(`Moved ${list} to “${azure.configName}”.`);

    // A service holding a DEK from before the move gets the very same DEK after it (KEK rewrapped, DEKs untouched).
    expect(await ingestDek('seg-7')).toEqual(dekBefore);
    await page.getByRole('heading', { level: 2, name: 'Operations', exact: true }).scrollIntoViewIfNeeded();
    await screenshot(page, '09-workspace-rebind');
  });

  it('shows the audit log with filters and the verified hash chain', async () => {
    await page.goto(`${consoleUrl}/#/audit`);
    const verified = page.locator('[data-verified]');
    await verified.waitFor();
    expect(await verified.getAttribute('data-verified')).toBe('true');
    const v = await api('GET', '/audit-events/verification');
    expect(v.body.ok).toBe(true);
    // The chain may have grown between the page's check and ours (aggregated DEK issuance is flushed later):
    // the page's count can only be the same or smaller, and when it is the same the head hash must match.
    const shown = await verified.innerText();
    const counted = Number(/All (\d+) entries/.exec(shown)?.[1]);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThanOrEqual(v.body.count);
    if (counted === v.body.count) expect(shown).toContain(v.body.headHash);
    else expect(shown).toMatch(/Head hash [0-9a-f]{64}/);

    const rows = page.locator('table.audit tbody tr');
    await rows
      .first()
      .waitFor()
      .catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\n${await diagnose()}`);
      });
    const all = await rows.count();
    expect(all).toBeGreaterThan(5);
    // Filters are the server's (test/console/audit.test.ts covers them in depth): one action, then one workspace.
    const applied = (param: string) =>
      Promise.all([
        page.waitForResponse((r) => r.url().includes('/audit-events?') && r.url().includes(param)),
        page.getByRole('button', { name: 'Apply filters' }).click(),
      ]);
    await page.getByLabel('Actions or prefixes (comma-separated)').fill('workspace.created');
    await applied('action=workspace.created');
    await page.getByText(/^Showing \d+ matching events/).waitFor();
    expect(await rows.count()).toBeLessThan(all);
    for (const r of await rows.all()) expect(await r.locator('td').nth(3).innerText()).toBe('workspace.created');
    await page.getByLabel('Actions or prefixes (comma-separated)').fill('');
    await page.getByLabel('Workspace ID').fill(state.workspaceId);
    await applied(`workspaceId=${state.workspaceId}`);
    await page.getByText(/^Showing \d+ matching events/).waitFor();
    expect(await rows.count()).toBeGreaterThan(0);
    for (const r of await rows.all())
      expect((await r.innerText()) + ((await r.locator('details').textContent()) ?? '')).toContain(state.workspaceId);
    await page.getByRole('button', { name: 'Clear' }).click();

    // Tamper evidence: seal now, then the latest checkpoint is shown, signed by Keyhold's published current key.
    await page.getByRole('button', { name: 'Seal now' }).click();
    const status = page.locator('[data-checkpoint="verified"]');
    await status.waitFor();
    const cps = await api('GET', '/audit-events/checkpoints?limit=1000');
    const latest = cps.body.checkpoints[cps.body.checkpoints.length - 1];
    const keys = (await fetch(`${stack.url}/v1/audit/public-keys`).then((r) => r.json())) as {
      keys: Array<{ keyId: string; current: boolean }>;
    };
    const current = keys.keys.find((k) => k.current)!;
    expect(latest.keyId).toBe(current.keyId);
    const text = await status.innerText();
    expect(text).toContain(current.keyId);
    expect(text).toMatch(/Entry #\d+/);
    expect(text).toContain("Keyhold's current Ed25519 key");
    expect(text).toContain('Verified');
    await expectAccessible(page, 'audit page with checkpoint status');
    await page.getByRole('heading', { level: 1 }).focus();
    await screenshot(page, '07-audit');
  });

  it('destroys a workspace behind its typed name: disabled until it matches, then every key gone and the page says so (axe-clean)', async () => {
    const name = 'scratch-to-destroy';
    const id = await createAndBindWorkspace(name, state.validConfigId, state.validConfigName);
    await page.getByRole('button', { name: 'Destroy workspace…' }).click();
    const confirm = page.getByLabel(`Type the workspace name “${name}” to confirm`);
    const go = page.getByRole('button', { name: 'Destroy workspace for good' });
    await confirm.fill(name.toUpperCase());
    expect(await go.isDisabled()).toBe(true);
    // axe itself is proven on a planted problem first (an image without a text alternative), then the page is clean.
    await inBrowser(`document.body.insertAdjacentHTML('beforeend', '<img id="axe-canary" src="data:,">')`);
    expect((await accessibilityViolations(page)).map((v) => v.id)).toContain('image-alt');
    await inBrowser(`document.getElementById('axe-canary').remove()`);
    expect(await accessibilityViolations(page)).toEqual([]);
    await confirm.fill(name);
    expect(await go.isEnabled()).toBe(true);
    await go.scrollIntoViewIfNeeded();
    await screenshot(page, '14-workspace-destroy-confirm');
    await go.click();
    await page.getByRole('heading', { name: 'This workspace was destroyed' }).waitFor({ timeout: 20_000 });
    await page.locator('.facts .badge', { hasText: 'Destroyed' }).waitFor();
    // Nothing left to operate on: no key operations, no binding form, no second destroy.
    expect(await page.getByRole('button', { name: 'Rotate KEK' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Destroy workspace…' }).count()).toBe(0);
    expect(await accessibilityViolations(page)).toEqual([]);
    await screenshot(page, '15-workspace-destroyed');
    expect((await api('GET', `/workspaces/${id}`)).body).toMatchObject({
      keyState: 'destroyed',
      keyConfigurationId: null,
      kekVersion: null,
    });
    const rows = await stack.api.services.ds.query(
      `SELECT (SELECT count(*)::int FROM kek_versions WHERE workspace_id = $1) + (SELECT count(*)::int FROM deks WHERE workspace_id = $1) AS n`,
      [id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('signs out: the token is forgotten and the sign-in form is back', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to your tenant' }).waitFor();
    expect(await inBrowser<string | null>(`sessionStorage.getItem('keyhold.session')`)).toBeNull();
    // Apart from the 4xx answers the tests provoked on purpose, the page never crashed, logged an error, or got a 5xx.
    expect(
      browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 4\d\d/.test(p)),
    ).toEqual([]);
  });
});
