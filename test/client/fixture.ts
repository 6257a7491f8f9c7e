import { randomBytes } from 'node:crypto';
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import Redis from 'ioredis';
import { KeyholdClient, KeyholdClientOptions } from '../../packages/client/src';
import { tenantWithAdmin, TestStack } from '../support/stack';

/** A tenant with an AWS key, bound workspaces and a service principal scoped to them (all through the API). */
export async function serviceTenant(stack: TestStack, workspaces = 1) {
  const t = await tenantWithAdmin(stack);
  const vendorArn = stack.config.providerEnv.KEYHOLD_AWS_VENDOR_PRINCIPAL_ARN!;
  const roleName = `keyhold-${randomBytes(4).toString('hex')}`;
  const roleArn = await stack.aws.createRole(roleName, vendorArn, t.tenant.aws.externalId);
  const keyArn = await stack.aws.createKey(roleArn, roleName);
  const base = `/v1/tenants/${t.tenant.id}`;
  const kc = await stack.http.post(
    `${base}/key-configurations`,
    { name: 'main', provider: 'aws', aws: { keyArn, roleArn } },
    t.token,
  );
  if (kc.body?.status !== 'valid') throw new Error(`key configuration: ${kc.text}`);
  const wsIds: string[] = [];
  for (let i = 0; i < workspaces; i++) {
    const ws = await stack.http.post(`${base}/workspaces`, { name: `ws-${i}` }, t.token);
    const b = await stack.http.put(
      `${base}/workspaces/${ws.body.id}/key-binding`,
      { keyConfigurationId: kc.body.id },
      t.token,
    );
    if (b.status !== 200) throw new Error(`bind: ${b.text}`);
    wsIds.push(ws.body.id);
  }
  const sp = await stack.http.post(`${base}/service-principals`, { name: 'svc', workspaceIds: wsIds }, t.token);
  if (sp.status !== 201) throw new Error(`service principal: ${sp.text}`);
  return {
    ...t,
    base,
    keyArn,
    keyId: keyArn.split('/').pop() as string,
    wsId: wsIds[0],
    wsIds,
    clientId: sp.body.clientId as string,
    clientSecret: sp.body.clientSecret as string,
    client(opts: Partial<KeyholdClientOptions> = {}): KeyholdClient {
      return new KeyholdClient({
        baseUrl: stack.internalUrl,
        clientId: sp.body.clientId,
        clientSecret: sp.body.clientSecret,
        ...opts,
      });
    },
  };
}
export type ServiceTenant = Awaited<ReturnType<typeof serviceTenant>>;

/**
 * The customer revokes: their key is disabled, an admin asks for a revocation check, and the worker (short probe
 * settings) confirms and shreds. Resolves when the workspace is `shredded`.
 */
export async function revokeAndShred(
  stack: TestStack,
  t: ServiceTenant,
  workspaceId = t.wsId,
  timeoutMs = 30_000,
): Promise<void> {
  await stack.aws.kms.send(new DisableKeyCommand({ KeyId: t.keyArn }));
  const r = await stack.http.post(
    `${t.base}/workspaces/${workspaceId}/operations`,
    { kind: 'revocation-check' },
    t.token,
  );
  if (r.status !== 202) throw new Error(`revocation check: ${r.text}`);
  await waitFor(
    async () => (await stack.http.get(`${t.base}/workspaces/${workspaceId}`, t.token)).body.keyState === 'shredded',
    timeoutMs,
    50,
  );
}

export async function waitFor(cond: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error('timed out waiting');
}

/** Watches the KEK invalidation channel the way an API replica does: when did the server side announce a shred? */
export async function watchShreds(
  stack: TestStack,
): Promise<{ at(workspaceId: string): number | undefined; close(): void }> {
  const sub = new Redis(stack.config.redisUrl);
  const seen = new Map<string, number>();
  sub.on('message', (_c: string, raw: string) => {
    const m = JSON.parse(raw) as { w: string; k: string };
    if (m.k === 'shred' && !seen.has(m.w)) seen.set(m.w, Date.now());
  });
  await sub.subscribe(`${stack.config.redisPrefix}:kek-invalidation`);
  return { at: (w) => seen.get(w), close: () => sub.disconnect() };
}

/** Leaves nothing of this stack's prefix in the shared Redis. */
export { cleanRedisPrefix as cleanRedis } from '../support/stack';
