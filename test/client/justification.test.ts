import { KeyholdError } from '../../packages/client/src';
import { startStack, TestStack } from '../support/stack';
import { cleanRedis, serviceTenant } from './fixture';

/**
 * The client SDK carries key access justifications: a client-wide reason on every request, a per-call reason that
 * always reaches the server (never served from a DEK cached under another reason), refusals as coded errors.
 */
describe('@keyhold/client: key access justifications', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await cleanRedis(stack);
    await stack?.close();
  });

  it('sends the client reason and per-call reasons; a cached DEK never serves a reason the policy refuses', async () => {
    const t = await serviceTenant(stack);
    const client = t.client({ events: false, justification: { reason: 'CUSTOMER_INITIATED', ticket: 'REQ-1' } });
    try {
      const blob = await client.encrypt({ workspaceId: t.wsId, segmentId: 'orders/1', plaintext: 'hello' });
      expect((await client.decrypt(blob)).toString()).toBe('hello');
      expect(client.stats.fetches).toBe(1);
      expect(client.stats.cacheHits).toBe(1);
      // the DEK is cached, but VENDOR_SUPPORT is not this principal's to give: the server answers, and refuses
      const refused = await client
        .decrypt(blob, { justification: { reason: 'VENDOR_SUPPORT', ticket: 'SUP-9' } })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(KeyholdError);
      expect((refused as KeyholdError).code).toBe('REASON_DENIED');
      expect(client.stats.fetches).toBe(2);
      // a reason the principal may give, per call: fetched from the server, not cached
      const backup = await client.getDek(t.wsId, 'orders/1', { reason: 'BACKUP' });
      expect(backup.key.length).toBe(32);
      expect(client.stats.fetches).toBe(3);
      await expect(client.getDek(t.wsId, 'orders/1', { reason: 'NOPE' as 'BACKUP' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(client.getDek(t.wsId, 'orders/1', { reason: 'BACKUP', ticket: 'bad ticket' })).rejects.toMatchObject(
        { code: 'INVALID_ARGUMENT' },
      );

      stack.api.services.issuance.flush(true);
      await stack.api.services.auditBuffer.flush();
      const audit = await stack.http.get(`${t.base}/audit-events?limit=1000`, t.token);
      const uses = (
        audit.body.events as Array<{
          action: string;
          details: { reason?: string; count?: number; tickets?: string[]; code?: string };
        }>
      ).filter((e) => ['dek.issued', 'dek.access_denied'].includes(e.action));
      const issued = (reason: string) =>
        uses
          .filter((e) => e.action === 'dek.issued' && e.details.reason === reason)
          .reduce((s, e) => s + Number(e.details.count), 0);
      expect(issued('CUSTOMER_INITIATED')).toBe(1);
      expect(issued('BACKUP')).toBe(1);
      expect(issued('NONE')).toBe(0);
      const denied = uses.filter((e) => e.action === 'dek.access_denied');
      expect(denied.map((e) => [e.details.reason, e.details.count, e.details.code, e.details.tickets])).toEqual([
        ['VENDOR_SUPPORT', 1, 'REASON_DENIED', ['SUP-9']],
      ]);
      expect(uses.find((e) => e.details.reason === 'CUSTOMER_INITIATED')?.details.tickets).toEqual(['REQ-1']);
    } finally {
      await client.close();
    }
  });
});
