import type { KeyholdConfig } from '../../libs/config/src';
import { ApiApp } from '../../apps/api/src/app';
import { HttpClient, HttpResult, startApi } from '../../stack';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';

/**
 * DEK creation limits under attack. Two pairs of extra API replicas over the stack's database and Redis: one pair
 * with a small workspace quota and creation rate, one with a small per-KEK wrap cap. Each attempt tries to create
 * more than a limit allows (concurrent single creates on both replicas, oversized and parallel batches, case
 * variants of ids, one principal spread over workspaces and replicas, creates racing a segment destroy) and is
 * judged from the database afterwards, not from the answers: a bypass is a DEK row (or a wrap) past a limit, or a
 * live DEK under a destroyed segment id.
 */
export interface QuotaResult {
  attempts: number;
  requests: number;
  refusals: number;
  bypasses: number;
  /** Answers that are neither a success nor one of the limit's documented refusals (a 5xx, another code). */
  unexpected: number;
  positiveControls: number;
  limits: { quota: number; ratePerMinute: number; softWraps: number; hardWrapCap: number };
  details: string[];
}

const LIMITS = { quota: 20, ratePerMinute: 40, softWraps: 10, hardWrapCap: 15 };

function withLimits(
  base: KeyholdConfig,
  dek: Partial<KeyholdConfig['dek']>,
  kek: Partial<KeyholdConfig['kekRotation']>,
): KeyholdConfig {
  return { ...base, port: 0, dek: { ...base.dek, ...dek }, kekRotation: { ...base.kekRotation, ...kek } };
}

export async function runQuotas(stack: HardeningStack, t: SeededTenant): Promise<QuotaResult> {
  const details: string[] = [];
  let attempts = 0;
  let requests = 0;
  let refusals = 0;
  let bypasses = 0;
  let unexpected = 0;
  let positiveControls = 0;
  const apps: ApiApp[] = [];
  const quotaCfg = withLimits(
    stack.config,
    { quotaPerWorkspace: LIMITS.quota, createRatePerMinute: LIMITS.ratePerMinute },
    {},
  );
  const capCfg = withLimits(
    stack.config,
    { quotaPerWorkspace: 1_000_000, createRatePerMinute: 1_000_000 },
    { maxWraps: LIMITS.softWraps, wrapHardCap: LIMITS.hardWrapCap, wrapReserveChunk: 4 },
  );
  try {
    for (const c of [quotaCfg, quotaCfg, capCfg, capCfg]) apps.push(await startApi(c));
    const [q1, q2, c1, c2] = apps.map((a) => new HttpClient(a.url, a.internalUrl));
    const admin = t.tokens.keyAdmin;
    const http = stack.http;
    const db = (sql: string, params: unknown[]) =>
      stack.api.services.ds.query<Array<Record<string, number>>>(sql, params);
    const count = async (wsIds: string[]) =>
      (await db(`SELECT count(*)::int AS n FROM deks WHERE workspace_id = ANY($1::uuid[])`, [wsIds]))[0].n;

    const workspace = async (): Promise<string> => {
      const ws = await http.post(
        `${t.base}/workspaces`,
        { name: `quota-${Math.random().toString(36).slice(2, 8)}` },
        admin,
      );
      const bound = await http.put(
        `${t.base}/workspaces/${ws.body.id}/key-binding`,
        { keyConfigurationId: t.keyConfigurationId },
        admin,
      );
      if (bound.status !== 200) throw new Error(`bind: ${bound.status} ${bound.text}`);
      return ws.body.id as string;
    };
    const principal = async (workspaceIds: string[], permissions?: string[]): Promise<string> => {
      const sp = await http.post(
        `${t.base}/service-principals`,
        { name: 'quota-svc', workspaceIds, ...(permissions ? { permissions } : {}) },
        admin,
      );
      const tok = await http.post('/v1/auth/token', {
        grant_type: 'client_credentials',
        client_id: sp.body.clientId,
        client_secret: sp.body.clientSecret,
      });
      if (tok.status !== 200) throw new Error(`service token: ${tok.status} ${tok.text}`);
      return tok.body.access_token as string;
    };
    const dek = (ws: string, seg: string) => `/internal/v1/workspaces/${ws}/segments/${encodeURIComponent(seg)}/dek`;
    const batch = (ws: string) => `/internal/v1/workspaces/${ws}/deks:batchGet`;
    const tally = (rs: HttpResult[], codes: string[]) => {
      requests += rs.length;
      for (const r of rs) {
        if (r.status >= 400) {
          refusals++;
          const code = (r.body as { error?: { code?: string } } | undefined)?.error?.code;
          if (code && codes.includes(code)) continue;
          unexpected++;
          details.push(`unexpected ${r.status} ${code ?? r.text.slice(0, 80)}`);
        }
      }
    };
    const judge = (what: string, got: number, max: number) => {
      attempts++;
      if (got > max) {
        bypasses++;
        details.push(`${what}: ${got} > ${max}`);
      }
    };
    const quotaCodes = ['DEK_QUOTA_EXCEEDED', 'DEK_CREATE_RATE_LIMITED'];

    // 1. concurrent single creates on both replicas
    {
      const ws = await workspace();
      const tok = await principal([ws]);
      const rs = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? q2 : q1).get(dek(ws, `c-${i % 39}`), tok)),
      );
      tally(rs, quotaCodes);
      judge('concurrent single creates', await count([ws]), LIMITS.quota);
      if (rs.some((r) => r.status === 200) && rs.some((r) => r.status === 429)) positiveControls++;
    }
    // 2. one oversized batch, then the same ids again
    {
      const ws = await workspace();
      const tok = await principal([ws]);
      const ids = Array.from({ length: 35 }, (_, i) => `b-${i}`);
      tally(
        [await q1.post(batch(ws), { segmentIds: ids }, tok), await q2.post(batch(ws), { segmentIds: ids }, tok)],
        quotaCodes,
      );
      judge('oversized batch', await count([ws]), LIMITS.quota);
    }
    // 3. case variants of ids already issued, at the quota
    {
      const ws = await workspace();
      const tok = await principal([ws]);
      tally(
        [await q1.post(batch(ws), { segmentIds: Array.from({ length: LIMITS.quota }, (_, i) => `case-${i}`) }, tok)],
        quotaCodes,
      );
      const variants = ['CASE-0', 'Case-0', 'case-0'.toUpperCase(), 'cAsE-1', 'CASE-1'];
      tally(await Promise.all(variants.map((v, i) => (i % 2 ? q2 : q1).get(dek(ws, v), tok))), quotaCodes);
      judge('case variants', await count([ws]), LIMITS.quota);
      // positive control: an existing DEK is still served at the quota
      if ((await q2.get(dek(ws, 'case-3'), tok)).status === 200) positiveControls++;
    }
    // 4. parallel batches on both replicas
    {
      const ws = await workspace();
      const tok = await principal([ws]);
      const rs = await Promise.all(
        Array.from({ length: 8 }, (_, j) =>
          (j % 2 ? q2 : q1).post(batch(ws), { segmentIds: Array.from({ length: 10 }, (_, i) => `p-${j}-${i}`) }, tok),
        ),
      );
      tally(rs, quotaCodes);
      judge('parallel batches', await count([ws]), LIMITS.quota);
    }
    // 5. one principal's creation rate spread over workspaces and replicas
    {
      const wss = await Promise.all(Array.from({ length: 4 }, () => workspace()));
      const tok = await principal(wss);
      const rs = await Promise.all(
        Array.from({ length: 8 }, (_, j) =>
          (j % 2 ? q2 : q1).post(
            batch(wss[j % 4]),
            { segmentIds: Array.from({ length: 10 }, (_, i) => `r-${j}-${i}`) },
            tok,
          ),
        ),
      );
      tally(rs, quotaCodes);
      judge('creation rate across workspaces and replicas', await count(wss), LIMITS.ratePerMinute);
      if (
        rs.some(
          (r) => r.status === 429 && (r.body as { error: { code: string } }).error.code === 'DEK_CREATE_RATE_LIMITED',
        )
      )
        positiveControls++;
    }
    // 6. the per-KEK wrap cap, concurrent batches on two replicas
    {
      const ws = await workspace();
      const tok = await principal([ws]);
      const rs = await Promise.all(
        Array.from({ length: 6 }, (_, j) =>
          (j % 2 ? c2 : c1).post(batch(ws), { segmentIds: Array.from({ length: 5 }, (_, i) => `w-${j}-${i}`) }, tok),
        ),
      );
      tally(rs, ['KEK_WRAP_LIMIT']);
      // A worker (if one runs) may rotate meanwhile: each KEK version has its own cap.
      const [{ wraps, versions }] = await db(
        `SELECT max(wrap_count)::int AS wraps, count(*)::int AS versions FROM kek_versions WHERE workspace_id = $1`,
        [ws],
      );
      judge('wrap cap (DEKs)', await count([ws]), LIMITS.hardWrapCap * versions);
      judge('wrap cap (wraps counted)', wraps, LIMITS.hardWrapCap);
      if (rs.some((r) => r.status === 503 && r.headers.get('retry-after'))) positiveControls++;
    }
    // 7. creates racing destroys: a destroyed id must never hold a live DEK, nor be served again
    {
      const ws = await workspace();
      const reader = await principal([ws]);
      const destroyer = await principal([ws], ['dek:fetch', 'dek:destroy']);
      // 16 ids: two creating requests each stay within the reader's creation rate and the workspace quota.
      const segs = Array.from({ length: 16 }, (_, i) => `d-${i}`);
      const rs = await Promise.all(
        segs.flatMap((s, i) => [
          (i % 2 ? q2 : q1).get(dek(ws, s), reader),
          (i % 2 ? q1 : q2).request('DELETE', dek(ws, s), { token: destroyer }),
          (i % 3 ? q2 : q1).post(batch(ws), { segmentIds: [s] }, reader),
        ]),
      );
      // Concurrent creators of one id each hold a quota slot until they learn they lost: near the quota one of them
      // may be refused (fails closed, a retry succeeds). Not a bypass, and not an unexpected answer.
      tally(
        rs.filter((r) => r.status !== 410),
        quotaCodes,
      );
      requests += rs.filter((r) => r.status === 410).length;
      const live = await db(
        `SELECT count(*)::int AS n FROM deks d JOIN segment_tombstones x ON x.workspace_id = d.workspace_id AND x.segment_id = d.segment_id WHERE d.workspace_id = $1`,
        [ws],
      );
      judge('destroyed ids holding a live DEK', live[0].n, 0);
      const again = await Promise.all(segs.map((s, i) => (i % 2 ? q1 : q2).get(dek(ws, s), reader)));
      requests += again.length;
      judge('destroyed ids served again', again.filter((r) => r.status !== 410).length, 0);
      if (again.every((r) => r.status === 410)) positiveControls++;
    }
  } finally {
    for (const a of apps) await a.close().catch(() => undefined);
  }
  return { attempts, requests, refusals, bypasses, unexpected, positiveControls, limits: LIMITS, details };
}
