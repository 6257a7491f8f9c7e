import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EnvelopeError,
  KeyholdClient,
  KeyholdError,
  KeyholdUnavailableError,
  WorkspaceShreddedError,
} from '@keyhold/client';
import { Pool } from 'pg';

/**
 * A tiny records service: JSON records stored encrypted in Postgres, one envelope per record, sealed and opened
 * by @keyhold/client. The database never sees plaintext, and when the customer revokes their key the records
 * become unreadable — for this service, its operators and its backups alike.
 *
 *   POST /workspaces/{workspaceId}/records        {"data": "..."}  → 201 {"id"}
 *   GET  /workspaces/{workspaceId}/records/{id}                     → 200 {"id", "data"} | 404 | 410 | 503
 */
export interface RecordsServiceOptions {
  databaseUrl: string;
  keyhold: KeyholdClient;
  /** Default 0 (ephemeral). */
  port?: number;
  host?: string;
  /** Postgres schema of the service's own table. Default `records_example`. */
  schema?: string;
}

export interface RecordsService {
  url: string;
  server: Server;
  pool: Pool;
  schema: string;
  close(): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY = 1024 * 1024;

export async function startRecordsService(o: RecordsServiceOptions): Promise<RecordsService> {
  const schema = o.schema ?? 'records_example';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('schema must be a plain lower-case identifier');
  const pool = new Pool({ connectionString: o.databaseUrl, max: 4, application_name: 'records-service' });
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${schema}.records (
       id uuid PRIMARY KEY, workspace_id uuid NOT NULL, ciphertext bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  );
  const table = `${schema}.records`;

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, ...errorReply(err)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/workspaces\/([^/]+)\/records(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m || !UUID.test(m[1]) || (m[2] !== undefined && !UUID.test(m[2])))
      return send(res, 404, { error: { code: 'NOT_FOUND', message: 'no such route or record' } });
    const workspaceId = m[1].toLowerCase();
    if (req.method === 'POST' && m[2] === undefined) {
      const body = await readJson(req);
      if (!body || typeof body.data !== 'string')
        return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: 'body must be {"data": string}' } });
      const id = randomUUID();
      const blob = await o.keyhold.encrypt({
        workspaceId,
        segmentId: segmentFor(new Date()),
        plaintext: body.data,
        aad: aadFor(workspaceId, id),
      });
      await pool.query(`INSERT INTO ${table} (id, workspace_id, ciphertext) VALUES ($1, $2, $3)`, [
        id,
        workspaceId,
        blob,
      ]);
      return send(res, 201, { id });
    }
    if (req.method === 'GET' && m[2] !== undefined) {
      const id = m[2].toLowerCase();
      const r = await pool.query<{ ciphertext: Buffer }>(
        `SELECT ciphertext FROM ${table} WHERE id = $1 AND workspace_id = $2`,
        [id, workspaceId],
      );
      if (!r.rows.length) return send(res, 404, { error: { code: 'NOT_FOUND', message: 'no such record' } });
      // The row's own ids are the AAD and the expectation: a ciphertext copied into another row does not open.
      const plain = await o.keyhold.decrypt(r.rows[0].ciphertext, {
        aad: aadFor(workspaceId, id),
        expect: { workspaceId },
      });
      return send(res, 200, { id, data: plain.toString('utf8') });
    }
    return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST …/records or GET …/records/{id}' } });
  }

  await new Promise<void>((resolve) => server.listen(o.port ?? 0, o.host ?? '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address}:${addr.port}`,
    server,
    pool,
    schema,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await pool.end();
    },
  };
}

/** One DEK per workspace and month: a revocation or a destroyed month takes exactly those records. */
function segmentFor(d: Date): string {
  return `records-${d.toISOString().slice(0, 7)}`;
}

function aadFor(workspaceId: string, id: string): string {
  return `records-service:v1:${workspaceId}:${id}`;
}

function errorReply(err: unknown): [number, object] {
  if (err instanceof WorkspaceShreddedError)
    return [
      410,
      {
        error: {
          code: 'RECORD_UNREADABLE',
          message: `this record can no longer be decrypted: ${err.message} (${err.code})`,
        },
      },
    ];
  if (err instanceof EnvelopeError)
    return [
      422,
      { error: { code: 'RECORD_CORRUPT', message: `the stored record failed verification: ${err.message}` } },
    ];
  if (err instanceof KeyholdUnavailableError)
    return [503, { error: { code: 'KEYS_UNAVAILABLE', message: 'the key service is unavailable; retry later' } }];
  if (err instanceof KeyholdError && err.status === 404)
    return [404, { error: { code: 'NOT_FOUND', message: 'no such workspace' } }];
  if (err instanceof SyntaxError)
    return [400, { error: { code: 'MALFORMED_JSON', message: 'the body is not valid JSON' } }];
  return [500, { error: { code: 'INTERNAL', message: 'internal error' } }];
}

function send(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return void res.end();
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<{ data?: unknown } | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new SyntaxError('body too large');
    chunks.push(c);
  }
  const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
}
