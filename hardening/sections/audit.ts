import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { canonicalJson, checkpointMessage, keyIdOf } from '../../packages/audit-verify/src';
import { runOfflineVerifier } from '../lib/audit-verifier-process';
import type { HardeningStack } from '../lib/stack';
import type { SeededTenant } from '../lib/world';

/**
 * Audit tamper evidence, tried as a database insider and as someone who edits the customer's export:
 * - route cases: each tampering is done in SQL by a superuser with the append-only triggers switched off for the
 *   session, then `GET …/audit-events/verification` must answer ok: false; the log is put back from a snapshot after
 *   every case and must verify again (positive control);
 * - offline cases: each tampering is applied to a real export (or its checkpoints), and the offline verifier, run
 *   as a separate process with only Keyhold's public key, must exit 1 and name a bad record; the untouched export
 *   must exit 0.
 * Not counted as tampering (documented in docs/AUDIT.md): records appended after the latest checkpoint can be
 * removed from an export without the offline verifier noticing until a checkpoint covers them.
 */
export interface AuditResult {
  cases: number;
  undetected: number;
  routeCases: number;
  offlineCases: number;
  positiveControls: number;
  positiveControlFailures: number;
  /** How each case was reported: the reason code and the first bad seq. */
  verdicts: Record<string, string>;
  details: string[];
}

interface Exported {
  lines: string[];
  checkpoints: Array<Record<string, unknown>>;
  publicKeyPem: string;
}

type Row = Record<string, unknown>;

export async function runAudit(stack: HardeningStack, t: SeededTenant): Promise<AuditResult> {
  const r: AuditResult = {
    cases: 0,
    undetected: 0,
    routeCases: 0,
    offlineCases: 0,
    positiveControls: 0,
    positiveControlFailures: 0,
    verdicts: {},
    details: [],
  };
  const http = stack.http;
  const token = t.tokens.keyAdmin;
  const pg = new Client({ connectionString: stack.db.url, application_name: 'hardening-audit' });
  await pg.connect();
  const dir = mkdtempSync(join(tmpdir(), 'keyhold-audit-'));
  try {
    // A log with two checkpoints and records between and after them.
    const addEvents = async (n: number) => {
      for (let i = 0; i < n; i++) await http.post(`${t.base}/workspaces`, { name: `audit-${Date.now()}-${i}` }, token);
    };
    await addEvents(3);
    await checkpoint();
    await addEvents(3);
    await checkpoint();
    await addEvents(2);

    async function checkpoint() {
      const res = await http.post(`${t.base}/audit-events/checkpoints`, {}, token);
      if (res.status !== 200 || !res.body.checkpoint)
        throw new Error(`checkpoint: ${res.status} ${res.text.slice(0, 200)}`);
    }
    const verify = async () =>
      (await http.get(`${t.base}/audit-events/verification`, token)).body as {
        ok: boolean;
        reason?: string;
        firstBadSeq?: number;
      };
    // The verifier must name the tampering, not fail for an unrelated reason: the untouched log verifies first.
    const before = await verify();
    if (!before.ok) throw new Error(`the log did not verify before tampering: ${JSON.stringify(before)}`);

    // ---- route cases (database insider)
    const snapshot = await snapshotOf(pg, t.id);
    const last = snapshot.events.length;
    const head = snapshot.head!;
    const cpSeqs = snapshot.checkpoints.map((c) => Number(c.seq));
    const asInsider = async (sql: string, params: unknown[] = []) => {
      await pg.query('BEGIN');
      try {
        await pg.query(`SET LOCAL session_replication_role = replica`);
        await pg.query(sql, params);
        await pg.query('COMMIT');
      } catch (err) {
        await pg.query('ROLLBACK');
        throw err;
      }
    };
    const sha = (prev: string, e: Row, seq: number) =>
      createHash('sha256')
        .update(prev)
        .update('\n')
        .update(
          canonicalJson({
            tenantId: t.id,
            seq,
            at: new Date(e.at as string).toISOString(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            details: e.details,
          }),
        )
        .digest('hex');
    /** Rewrites the public chain from `from` on the way an insider can (SHA-256 is public; the MAC key is not). */
    const rehashFrom = async (from: number, mutate: (e: Row) => Row) => {
      let prev = from === 1 ? '0'.repeat(64) : String(snapshot.events[from - 2].hash);
      for (let seq = from; seq <= last; seq++) {
        const e = seq === from ? mutate({ ...snapshot.events[seq - 1] }) : snapshot.events[seq - 1];
        const h = sha(prev, e, seq);
        await asInsider(
          `UPDATE audit_events SET actor = $3, details = $4::jsonb, prev_hash = $5, hash = $6 WHERE tenant_id = $1 AND seq = $2`,
          [t.id, seq, e.actor, JSON.stringify(e.details), prev, h],
        );
        prev = h;
      }
      await asInsider(`UPDATE audit_heads SET hash = $2 WHERE tenant_id = $1`, [t.id, prev]);
    };

    const routeCases: Array<[string, () => Promise<void>]> = [
      [
        'change an outcome',
        () => asInsider(`UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1 AND seq = 2`, [t.id]),
      ],
      [
        'change nested details',
        () =>
          asInsider(
            `UPDATE audit_events SET details = details || '{"name":"other"}' WHERE tenant_id = $1 AND seq = $2`,
            [t.id, last - 1],
          ),
      ],
      [
        'move a timestamp',
        () => asInsider(`UPDATE audit_events SET at = at - interval '1 hour' WHERE tenant_id = $1 AND seq = 3`, [t.id]),
      ],
      [
        'delete a record in the middle',
        () => asInsider(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 4`, [t.id]),
      ],
      ['delete the first record', () => asInsider(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq = 1`, [t.id])],
      [
        'swap two records (reorder)',
        async () => {
          const a = snapshot.events[2];
          const b = snapshot.events[3];
          await asInsider(
            `UPDATE audit_events SET action = $3, target = $4, details = $5::jsonb WHERE tenant_id = $1 AND seq = $2`,
            [t.id, 3, b.action, b.target, JSON.stringify(b.details)],
          );
          await asInsider(
            `UPDATE audit_events SET action = $3, target = $4, details = $5::jsonb WHERE tenant_id = $1 AND seq = $2`,
            [t.id, 4, a.action, a.target, JSON.stringify(a.details)],
          );
        },
      ],
      [
        'delete the last two records and rewind the head',
        async () => {
          await asInsider(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq > $2`, [t.id, last - 2]);
          await asInsider(`UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1`, [
            t.id,
            last - 2,
            snapshot.events[last - 3].hash,
          ]);
        },
      ],
      ['delete the head row', () => asInsider(`DELETE FROM audit_heads WHERE tenant_id = $1`, [t.id])],
      [
        'delete every record and the head',
        async () => {
          await asInsider(`DELETE FROM audit_events WHERE tenant_id = $1`, [t.id]);
          await asInsider(`DELETE FROM audit_heads WHERE tenant_id = $1`, [t.id]);
        },
      ],
      [
        'delete every audit row of the tenant, checkpoints included',
        async () => {
          for (const table of ['audit_events', 'audit_heads', 'audit_checkpoints'])
            await asInsider(`DELETE FROM ${table} WHERE tenant_id = $1`, [t.id]);
        },
      ],
      [
        'truncate past the latest checkpoint with a consistent head (copied MAC)',
        async () => {
          const keep = cpSeqs[0];
          await asInsider(`DELETE FROM audit_events WHERE tenant_id = $1 AND seq > $2`, [t.id, keep]);
          await asInsider(`UPDATE audit_heads SET seq = $2, hash = $3, mac = $4 WHERE tenant_id = $1`, [
            t.id,
            keep,
            snapshot.events[keep - 1].hash,
            snapshot.events[keep - 1].mac,
          ]);
        },
      ],
      [
        're-hash the chain after a change (fork without the MAC key)',
        () => rehashFrom(3, (e) => ({ ...e, actor: 'admin:mallory' })),
      ],
      [
        're-hash the tail after the latest checkpoint',
        () => rehashFrom(cpSeqs[cpSeqs.length - 1] + 1, (e) => ({ ...e, details: { forged: true } })),
      ],
      [
        'copy a record MAC onto a forged head',
        () => asInsider(`UPDATE audit_heads SET mac = $2 WHERE tenant_id = $1`, [t.id, snapshot.events[last - 1].mac]),
      ],
      [
        'advance the head past the log',
        () => asInsider(`UPDATE audit_heads SET seq = seq + 5 WHERE tenant_id = $1`, [t.id]),
      ],
      [
        'insert a forged checkpoint (bad signature)',
        () =>
          asInsider(
            `INSERT INTO audit_checkpoints (tenant_id, seq, head_hash, at, key_id, signature) VALUES ($1, $2, $3, now(), $4, $5)`,
            [t.id, last, String(head.hash), snapshot.checkpoints[0].key_id, Buffer.alloc(64).toString('base64')],
          ),
      ],
      [
        'alter a checkpoint head hash',
        () =>
          asInsider(`UPDATE audit_checkpoints SET head_hash = $3 WHERE tenant_id = $1 AND seq = $2`, [
            t.id,
            cpSeqs[0],
            'a'.repeat(64),
          ]),
      ],
      [
        'truncate the events table of the tenant (TRUNCATE-like wipe, head kept)',
        () => asInsider(`DELETE FROM audit_events WHERE tenant_id = $1`, [t.id]),
      ],
      [
        'append a forged record without the MAC key',
        async () => {
          const prev = String(head.hash);
          const e = {
            at: new Date().toISOString(),
            actor: 'admin:mallory',
            action: 'workspace.created',
            target: 'workspace:forged',
            outcome: 'success',
            details: {},
          };
          const h = sha(prev, e, last + 1);
          await asInsider(
            `INSERT INTO audit_events (tenant_id, seq, at, actor, action, target, outcome, details, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, '{}'::jsonb, $8, $9, $10)`,
            [t.id, last + 1, e.at, e.actor, e.action, e.target, e.outcome, prev, h, 'f'.repeat(64)],
          );
          await asInsider(`UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1`, [t.id, last + 1, h]);
        },
      ],
    ];
    for (const [name, tamper] of routeCases) {
      r.cases++;
      r.routeCases++;
      await tamper();
      const v = await verify();
      r.verdicts[`route: ${name}`] = v.ok ? 'ok' : `${v.reason} @${v.firstBadSeq}`;
      if (v.ok) {
        r.undetected++;
        r.details.push(`route: "${name}" not detected`);
      }
      await restore(pg, t.id, snapshot);
      r.positiveControls++;
      const back = await verify();
      if (!back.ok) {
        r.positiveControlFailures++;
        r.details.push(`route: log did not verify after restoring "${name}": ${JSON.stringify(back)}`);
      }
    }

    // ---- offline cases (the export a customer holds)
    const exported = await exportOf(stack, t);
    const files = (name: string, lines: string[], checkpoints: unknown[], key = exported.publicKeyPem) => {
      const base = join(dir, name.replace(/[^a-z0-9]+/gi, '-'));
      writeFileSync(`${base}.jsonl`, lines.map((l) => `${l}\n`).join(''));
      writeFileSync(`${base}.checkpoints.json`, JSON.stringify({ checkpoints }));
      writeFileSync(`${base}.pem`, key);
      return [`${base}.jsonl`, '--checkpoints', `${base}.checkpoints.json`, '--public-key', `${base}.pem`, '--json'];
    };
    const intact = await runOfflineVerifier(files('intact', exported.lines, exported.checkpoints));
    r.positiveControls++;
    if (intact.code !== 0) {
      r.positiveControlFailures++;
      r.details.push(`offline: the untouched export did not verify: ${intact.stdout}${intact.stderr}`);
    }
    const L = exported.lines;
    const cps = exported.checkpoints;
    const lastCp = Number(cps[cps.length - 1].seq);
    const edit = (i: number, f: (o: Row) => Row) =>
      L.map((l, j) => (j === i ? JSON.stringify(f(JSON.parse(l) as Row)) : l));
    const rehashed = (from: number, f: (o: Row) => Row, source: Row[] = L.map((l) => JSON.parse(l) as Row)) => {
      const out = source;
      let prev = from === 0 ? '0'.repeat(64) : String(out[from - 1].hash);
      for (let i = from; i < out.length; i++) {
        if (i === from) out[i] = f(out[i]);
        out[i].prevHash = prev;
        out[i].hash = sha(prev, out[i], Number(out[i].seq));
        prev = String(out[i].hash);
      }
      return out.map((o) => JSON.stringify(o));
    };
    const other = generateKeyPairSync('ed25519');
    const signWith = (c: Row, key = other.privateKey, pub = other.publicKey) => ({
      ...c,
      keyId: keyIdOf(pub),
      signature: sign(
        null,
        checkpointMessage({
          tenantId: String(c.tenantId),
          seq: Number(c.seq),
          headHash: String(c.headHash),
          at: String(c.at),
        }),
        key,
      ).toString('base64'),
    });
    const offlineCases: Array<[string, string[], unknown[], string?]> = [
      ['change an outcome', edit(1, (o) => ({ ...o, outcome: 'failure' })), cps],
      ['change an actor', edit(0, (o) => ({ ...o, actor: 'admin:someone-else' })), cps],
      ['change nested details', edit(2, (o) => ({ ...o, details: { ...(o.details as Row), injected: 1 } })), cps],
      [
        'move a timestamp',
        edit(3, (o) => ({ ...o, at: new Date(Date.parse(String(o.at)) - 3_600_000).toISOString() })),
        cps,
      ],
      ['delete a record in the middle', L.filter((_, i) => i !== 3), cps],
      ['delete the first record', L.slice(1), cps],
      ['swap two records', L.map((l, i) => (i === 2 ? L[3] : i === 3 ? L[2] : l)), cps],
      ['repeat a record', [...L.slice(0, 4), L[3], ...L.slice(4)], cps],
      ['truncate records a checkpoint covers', L.slice(0, lastCp - 1), cps],
      ['an empty export', [], cps],
      ['re-hash after a change (fork)', rehashed(2, (o) => ({ ...o, actor: 'admin:mallory' })), cps],
      [
        'delete a record, renumber and re-hash',
        rehashed(
          3,
          (o) => o,
          L.map((l) => JSON.parse(l) as Row)
            .filter((_, i) => i !== 3)
            .map((o, i) => ({ ...o, seq: i + 1 })),
        ),
        cps,
      ],
      [
        'a checkpoint whose head hash was changed',
        L,
        cps.map((c, i) => (i === 0 ? { ...c, headHash: 'b'.repeat(64) } : c)),
      ],
      [
        'a checkpoint signed by another key',
        L,
        cps.map((c, i) => (i === cps.length - 1 ? signWith({ ...c, headHash: 'c'.repeat(64) }) : c)),
      ],
      [
        'an extra checkpoint for a forked head, signed by a key Keyhold does not publish',
        L,
        [...cps, signWith({ ...cps[0], headHash: 'd'.repeat(64) })],
      ],
      [
        'records of another tenant spliced in',
        edit(4, (o) => ({ ...o, tenantId: '00000000-0000-4000-8000-000000000000' })),
        cps,
      ],
      ['a malformed line', L.map((l, i) => (i === 2 ? l.slice(0, -3) : l)), cps],
    ];
    for (const [name, lines, checkpoints, key] of offlineCases) {
      r.cases++;
      r.offlineCases++;
      const run = await runOfflineVerifier(files(name, lines, checkpoints, key));
      let named = false;
      try {
        const v = JSON.parse(run.stdout) as { ok: boolean; firstBadSeq?: number; reason?: string };
        r.verdicts[`offline: ${name}`] = v.ok ? 'ok' : `${v.reason} @${v.firstBadSeq}`;
        named = !v.ok && typeof v.firstBadSeq === 'number';
      } catch {
        named = false;
      }
      if (run.code !== 1 || !named) {
        r.undetected++;
        r.details.push(
          `offline: "${name}" not detected (exit ${run.code}): ${run.stdout.slice(0, 200)}${run.stderr.slice(0, 200)}`,
        );
      }
    }
    return r;
  } finally {
    await pg.end().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Snapshot {
  events: Row[];
  head: Row | null;
  checkpoints: Row[];
}

async function snapshotOf(pg: Client, tenantId: string): Promise<Snapshot> {
  const events = (await pg.query(`SELECT * FROM audit_events WHERE tenant_id = $1 ORDER BY seq`, [tenantId]))
    .rows as Row[];
  for (const e of events) e.at = (e.at as Date).toISOString();
  const head =
    ((await pg.query(`SELECT * FROM audit_heads WHERE tenant_id = $1`, [tenantId])).rows[0] as Row | undefined) ?? null;
  const checkpoints = (await pg.query(`SELECT * FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq`, [tenantId]))
    .rows as Row[];
  return { events, head, checkpoints };
}

/** Puts the tenant's audit rows back exactly as snapshotted (as the insider: triggers off for the session). */
async function restore(pg: Client, tenantId: string, s: Snapshot): Promise<void> {
  await pg.query('BEGIN');
  try {
    await pg.query(`SET LOCAL session_replication_role = replica`);
    for (const table of ['audit_events', 'audit_heads', 'audit_checkpoints'])
      await pg.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [tenantId]);
    for (const e of s.events)
      await pg.query(
        `INSERT INTO audit_events (tenant_id, seq, at, actor, action, target, outcome, details, prev_hash, hash, mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11)`,
        [
          tenantId,
          e.seq,
          e.at,
          e.actor,
          e.action,
          e.target,
          e.outcome,
          JSON.stringify(e.details),
          e.prev_hash,
          e.hash,
          e.mac,
        ],
      );
    if (s.head)
      await pg.query(`INSERT INTO audit_heads (tenant_id, seq, hash, mac) VALUES ($1, $2, $3, $4)`, [
        tenantId,
        s.head.seq,
        s.head.hash,
        s.head.mac,
      ]);
    for (const c of s.checkpoints)
      await pg.query(
        `INSERT INTO audit_checkpoints (tenant_id, seq, head_hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)`,
        [tenantId, c.seq, c.head_hash, c.at, c.key_id, c.signature],
      );
    await pg.query('COMMIT');
  } catch (err) {
    await pg.query('ROLLBACK');
    throw err;
  }
}

/** What a customer downloads: the JSON-lines export, every checkpoint page, and Keyhold's current public key. */
async function exportOf(stack: HardeningStack, t: SeededTenant): Promise<Exported> {
  const http = stack.http;
  const ex = await http.get(`${t.base}/audit-events/export`, t.tokens.auditor);
  if (ex.status !== 200) throw new Error(`export: ${ex.status}`);
  const checkpoints: Array<Record<string, unknown>> = [];
  for (let after = 0; ;) {
    const page = await http.get(`${t.base}/audit-events/checkpoints?after=${after}&limit=1000`, t.tokens.auditor);
    checkpoints.push(...(page.body.checkpoints as Array<Record<string, unknown>>));
    if (page.body.next === null) break;
    after = page.body.next as number;
  }
  const keys = await http.get('/v1/audit/public-keys');
  const current = (keys.body.keys as Array<{ publicKeyPem: string; current: boolean }>).find((k) => k.current);
  if (!current) throw new Error('no current audit public key published');
  return { lines: ex.text.split('\n').filter(Boolean), checkpoints, publicKeyPem: current.publicKeyPem };
}
