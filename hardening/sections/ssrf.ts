import { randomBytes } from 'node:crypto';
import { AZURE_EMULATOR_DEFAULTS } from '../../apps/kms-emulator/src/azure';
import { Canaries } from '../lib/canary';
import { SiemTransport } from '../../libs/siem/src';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';

/**
 * SSRF: every tenant-supplied identifier that could become a network address (Azure key URLs and Entra tenant
 * ids; AWS key/role ARNs; GCP key names and service accounts) is tried in the forms that have fooled URL
 * checks before (IP literals in every notation, userinfo, backslashes, fragments, query strings, unicode dots,
 * trailing dots, allowed suffixes as sub-strings, the configured emulator host on another port), each pointing at
 * local http and https canaries that fail the case if they are ever contacted. A case "is accepted" when a canary
 * saw a connection during it or the configuration was stored as valid.
 */
export interface SsrfResult {
  cases: number;
  accepted: number;
  canaryContacts: number;
  rejectedAtParse: number;
  storedInvalid: number;
  /** SIEM URLs naming a host (not an address): stored, then refused by the connect-time check. */
  siemStoredNames: number;
  byProvider: Record<string, number>;
  providersConfigured: string[];
  details: string[];
}

interface Case {
  /** `sso`: the issuer URL of a tenant's single sign-on configuration (PUT /v1/tenants/{id}/sso). */
  provider: 'aws' | 'azure' | 'gcp' | 'sso' | 'siem';
  body: Record<string, unknown>;
  what: string;
}

export function ssrfCorpus(
  httpPort: number,
  httpsPort: number,
  t: SeededTenant,
  emulatorVault: { host: string; port: number },
): Case[] {
  const cases: Case[] = [];
  const tenantGuid = AZURE_EMULATOR_DEFAULTS.customerTenantId;
  for (const [scheme, port] of [
    ['https', httpsPort],
    ['http', httpPort],
  ] as const) {
    const hosts = [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `2130706433:${port}`,
      `0x7f000001:${port}`,
      `0177.0.0.1:${port}`,
      `127.1:${port}`,
      `0:${port}`,
      `localhost.:${port}`,
      `LOCALHOST:${port}`,
      `x.vault.azure.net@127.0.0.1:${port}`,
      `x.vault.azure.net:pw@localhost:${port}`,
      `127.0.0.1:${port}\\@x.vault.azure.net`,
      `127.0.0.1:${port}#.vault.azure.net`,
      `127.0.0.1:${port}?.vault.azure.net`,
      `127.0.0.1:${port}/.vault.azure.net`,
      `127.0.0.1%3A${port}`,
      `127。0。0。1:${port}`,
      `ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:${port}`,
      `myvault.vault.azure.net.localhost:${port}`,
      `localhost:${port}/x.vault.azure.net`,
      `myvault.vault.azure.net:${port}`,
      `${emulatorVault.host}:${port}`,
      `${emulatorVault.host}.:${port}`,
    ];
    for (const h of hosts) {
      cases.push({
        provider: 'azure',
        what: `${scheme}://${h}/keys/k`,
        body: { azure: { keyId: `${scheme}://${h}/keys/k`, tenantId: tenantGuid } },
      });
      // SIEM destination URLs name a host by design: every loopback notation must be refused (this API has no
      // loopback setting), and anything stored would be contacted by the next worker.
      cases.push({
        provider: 'siem',
        what: `siem ${scheme}://${h}/hook`,
        body: { kind: 'webhook', url: `${scheme}://${h}/hook` },
      });
      // The same hosts as an SSO issuer: discovery, JWKS and token calls must never reach them.
      cases.push({ provider: 'sso', what: `sso issuer ${scheme}://${h}`, body: { issuer: `${scheme}://${h}` } });
      cases.push({
        provider: 'sso',
        what: `sso issuer ${scheme}://${h}/realms/r`,
        body: { issuer: `${scheme}://${h}/realms/r` },
      });
    }
    for (const url of [
      `${scheme}://169.254.169.254:${port}/latest/meta-data`,
      `${scheme}://[fd00::1]:${port}/`,
      `${scheme}://10.0.0.1:${port}/`,
      `${scheme}://[::ffff:a9fe:a9fe]:${port}/`,
    ])
      cases.push({
        provider: 'siem',
        what: `siem ${url}`,
        body: { kind: 'splunk-hec', url, token: 'hardening-hec-token' },
      });
    for (const raw of [
      `${scheme}://169.254.169.254/latest/meta-data`,
      `${scheme}://[fd00::1]:${port}`,
      `${scheme}://10.0.0.1:${port}`,
      `${scheme}://192.168.1.1:${port}`,
      `${scheme}://100.64.0.1:${port}`,
    ])
      cases.push({ provider: 'sso', what: `sso issuer ${raw}`, body: { issuer: raw } });
    for (const raw of [
      `${scheme.toUpperCase()}://127.0.0.1:${port}/keys/k`,
      `${scheme}:/127.0.0.1:${port}/keys/k`,
      `${scheme}:\\\\127.0.0.1:${port}/keys/k`,
      ` ${scheme}://127.0.0.1:${port}/keys/k`,
      `${scheme}://127.0.0.1:${port}/keys/k?api-version=7.4`,
      `//127.0.0.1:${port}/keys/k`,
      `${scheme}://myvault.vault.azure.net/keys/k/../../..//127.0.0.1:${port}/`,
      `${scheme}://myvault.vault.azure.net\\@127.0.0.1:${port}/keys/k`,
    ])
      cases.push({ provider: 'azure', what: raw, body: { azure: { keyId: raw, tenantId: tenantGuid } } });
    // The Entra tenant id ends up in the token URL: it must not be able to move the authority.
    const validEmulatorKey = `https://${emulatorVault.host}:${emulatorVault.port}/keys/ssrf-${randomBytes(3).toString('hex')}`;
    for (const tid of [
      `@127.0.0.1:${port}`,
      `../../127.0.0.1:${port}`,
      `//127.0.0.1:${port}/x`,
      `127.0.0.1:${port}`,
      `${tenantGuid}@127.0.0.1:${port}`,
      `x/../../..//localhost:${port}`,
    ])
      cases.push({
        provider: 'azure',
        what: `azure.tenantId ${tid}`,
        body: { azure: { keyId: validEmulatorKey, tenantId: tid } },
      });
    // AWS: endpoints come from configuration; an ARN must not be able to name a host.
    const keyUuid = '1234abcd-12ab-34cd-56ef-1234567890ab';
    for (const [keyArn, roleArn] of [
      [`arn:aws:kms:127.0.0.1:${port}:000000000000:key/${keyUuid}`, t.roleArn],
      [`arn:aws:kms:localhost#:000000000000:key/${keyUuid}`, t.roleArn],
      [`arn:aws:kms:us-east-1.127.0.0.1.nip.io:000000000000:key/${keyUuid}`, t.roleArn],
      [`${scheme}://127.0.0.1:${port}/`, t.roleArn],
      [t.keyArn, `arn:aws:iam::000000000000:role/x@127.0.0.1:${port}`],
      [t.keyArn, `${scheme}://127.0.0.1:${port}/role`],
      [`arn:aws:kms:us-east-1:000000000000:key/${keyUuid}@127.0.0.1:${port}`, t.roleArn],
    ])
      cases.push({ provider: 'aws', what: `aws ${keyArn} / ${roleArn}`, body: { aws: { keyArn, roleArn } } });
    // GCP: the KMS endpoint comes from configuration; names and service accounts must not be able to name a host.
    for (const [keyName, serviceAccount] of [
      [
        `//127.0.0.1:${port}/projects/p/locations/global/keyRings/r/cryptoKeys/k`,
        'sa@proj-123456.iam.gserviceaccount.com',
      ],
      [
        `${scheme}://127.0.0.1:${port}/v1/projects/p/locations/global/keyRings/r/cryptoKeys/k`,
        'sa@proj-123456.iam.gserviceaccount.com',
      ],
      [
        `projects/p@127.0.0.1:${port}/locations/global/keyRings/r/cryptoKeys/k`,
        'sa@proj-123456.iam.gserviceaccount.com',
      ],
      ['projects/proj-123456/locations/global/keyRings/r/cryptoKeys/k', `sa@127.0.0.1:${port}`],
      [
        'projects/proj-123456/locations/global/keyRings/r/cryptoKeys/k',
        `sa@proj-123456.iam.gserviceaccount.com@127.0.0.1:${port}`,
      ],
      [
        'projects/proj-123456/locations/global/keyRings/r/cryptoKeys/k',
        `sa@proj-123456.iam.gserviceaccount.com/../../..//127.0.0.1:${port}`,
      ],
      ['projects/proj-123456/locations/global/keyRings/r/cryptoKeys/k', `${scheme}://127.0.0.1:${port}/`],
    ])
      cases.push({
        provider: 'gcp',
        what: `gcp ${keyName} / ${serviceAccount}`,
        body: { gcp: { keyName, serviceAccount } },
      });
  }
  return cases;
}

export async function runSsrf(stack: HardeningStack, t: SeededTenant): Promise<SsrfResult> {
  const canaries = await Canaries.start(stack.emulators.tls);
  const siemTransport = new SiemTransport({ allowLoopback: false, caPem: stack.emulators.tls.caPem });
  const r: SsrfResult = {
    cases: 0,
    accepted: 0,
    canaryContacts: 0,
    rejectedAtParse: 0,
    storedInvalid: 0,
    siemStoredNames: 0,
    byProvider: {},
    providersConfigured: stack.configuredProviders,
    details: [],
  };
  try {
    const vault = new URL((stack.emulators.clouds.azure as unknown as { vaultUrl(): string }).vaultUrl());
    const corpus = ssrfCorpus(canaries.httpPort, canaries.httpsPort, t, {
      host: vault.hostname,
      port: Number(vault.port),
    });
    for (const c of corpus) {
      const before = canaries.count();
      r.cases++;
      r.byProvider[c.provider] = (r.byProvider[c.provider] ?? 0) + 1;
      if (c.provider === 'siem') {
        const res = await stack.http.post(
          `${t.base}/siem-destinations`,
          { name: `ssrf-${randomBytes(4).toString('hex')}`, ...c.body },
          t.tokens.keyAdmin,
        );
        if (res.status === 400) r.rejectedAtParse++;
        else if (res.status !== 201) {
          r.accepted++;
          if (r.details.length < 40) r.details.push(`${c.what}: answered ${res.status}`);
        } else {
          // A host name passes the parse (it is resolved later, like any SIEM's name): the connection the worker
          // would open must then be refused at connect time, before any byte reaches the canary.
          r.siemStoredNames++;
          const before = canaries.count();
          const sent = await siemTransport
            .post(res.body.destination.url, { 'content-type': 'application/json' }, Buffer.from('{"events":[]}'), 2_000)
            .then(
              () => true,
              () => false,
            );
          await stack.http.delete(`${t.base}/siem-destinations/${res.body.destination.id}`, t.tokens.keyAdmin);
          if (sent || canaries.count() > before) {
            r.accepted++;
            if (r.details.length < 40) r.details.push(`${c.what}: reached at connect time`);
          }
        }
        continue;
      }
      if (c.provider === 'sso') {
        const res = await stack.http.put(
          `${t.base}/sso`,
          {
            ...c.body,
            clientId: 'ssrf',
            clientSecret: 'ssrf-secret',
            allowedEmailDomains: ['example.com'],
            roleMappings: [{ group: 'g', role: 'auditor' }],
          },
          t.tokens.keyAdmin,
        );
        if (res.status === 400) r.rejectedAtParse++;
        await new Promise((ok) => setTimeout(ok, 20));
        const contacted = canaries.count() > before;
        if (contacted || res.status === 200 || res.status >= 500) {
          if (contacted || res.status === 200) r.accepted++;
          if (r.details.length < 40)
            r.details.push(
              `sso ${c.what}: ${contacted ? 'canary contacted' : ''}${res.status === 200 ? ' stored' : ''}${res.status >= 500 ? ` answered ${res.status}` : ''}`,
            );
        }
        continue;
      }
      const res = await stack.http.post(
        `${t.base}/key-configurations`,
        { name: `ssrf-${randomBytes(4).toString('hex')}`, provider: c.provider, ...c.body },
        t.tokens.keyAdmin,
      );
      if (res.status === 201) {
        r.storedInvalid += res.body?.status === 'invalid' ? 1 : 0;
        // validate again: a second, separate path to the network
        await stack.http.post(`${t.base}/key-configurations/${res.body.id}/validate`, {}, t.tokens.keyAdmin);
      } else if (res.status === 400) r.rejectedAtParse++;
      // a connection can land a little after the answer (fire-and-forget side effects)
      await new Promise((ok) => setTimeout(ok, 20));
      const contacted = canaries.count() > before;
      const valid = res.status === 201 && res.body?.status === 'valid';
      if (contacted || valid || res.status >= 500) {
        if (contacted || valid) r.accepted++;
        if (r.details.length < 40)
          r.details.push(
            `${c.provider} ${c.what}: ${
              contacted
                ? `canary contacted (${canaries.contacts
                    .slice(before)
                    .map((x) => x.request ?? x.listener)
                    .join('; ')})`
                : ''
            }${valid ? ' stored as valid' : ''}${res.status >= 500 ? ` answered ${res.status}` : ''}`,
          );
      }
    }
    await new Promise((ok) => setTimeout(ok, 500));
    r.canaryContacts = canaries.count();
    if (r.canaryContacts && r.accepted === 0) {
      r.accepted = 1;
      r.details.push(
        `a canary was contacted late: ${canaries.contacts.map((x) => x.request ?? x.listener).join('; ')}`,
      );
    }
  } finally {
    siemTransport.close();
    await canaries.close();
  }
  return r;
}
