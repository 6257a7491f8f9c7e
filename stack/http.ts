import { request as httpRequest } from 'node:http';

/**
 * The harnesses' HTTP client: every call returns status, headers, raw text and parsed JSON, never throws on
 * 4xx/5xx, and can send a raw body or an arbitrary (already encoded) path, which the hardening fuzzer needs.
 */
export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
  /** Wall-clock milliseconds of the exchange. */
  ms: number;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent verbatim (no JSON encoding); wins over `body`. */
  raw?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * node:http rather than fetch: fetch refuses a body on GET and normalises paths, and the fuzzer needs to send
 * exactly what a hostile client would.
 */
function send(
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const finish = () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          resolve({ status: res.statusCode ?? 0, headers: h, text: Buffer.concat(chunks).toString('utf8') });
        };
        // An event stream (GET /internal/v1/events) never ends by itself: its first event is the answer.
        const streaming = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (streaming && Buffer.concat(chunks).includes('\n\n')) {
            finish();
            req.destroy();
          }
        });
        res.on('error', (err) => (streaming ? undefined : reject(err)));
        res.on('end', finish);
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { name: 'TimeoutError' })),
    );
    req.on('error', (err) =>
      req.destroyed && (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
    );
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export class HttpClient {
  /**
   * With `internalBaseUrl`, paths under /internal/ and /metrics go to the internal listener, as internal services
   * and the scraper reach them in a deployment; everything else to the public one (`baseUrl`).
   */
  constructor(
    readonly baseUrl: string,
    readonly internalBaseUrl?: string,
  ) {}

  /** The base URL of the listener that serves `path`. */
  baseOf(path: string): string {
    const internal =
      this.internalBaseUrl !== undefined &&
      (path.startsWith('/internal/') || path === '/metrics' || path.startsWith('/metrics?'));
    return internal ? this.internalBaseUrl : this.baseUrl;
  }

  request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult<T>> {
    return requestUrl<T>(method, new URL(this.baseOf(path)), path, opts);
  }

  get<T = any>(path: string, token?: string) {
    return this.request<T>('GET', path, { token });
  }
  post<T = any>(path: string, body: unknown, token?: string) {
    return this.request<T>('POST', path, { token, body });
  }
  put<T = any>(path: string, body: unknown, token?: string) {
    return this.request<T>('PUT', path, { token, body });
  }
  delete<T = any>(path: string, token?: string) {
    return this.request<T>('DELETE', path, { token });
  }
}

/** One exchange with `base`'s host and port for `path` (already encoded, sent as it is). */
export async function requestUrl<T = any>(
  method: string,
  base: URL,
  path: string,
  opts: RequestOptions = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const started = Date.now();
  const res = await send(base, method, path, headers, body, opts.timeoutMs ?? 30_000);
  let parsed: unknown = undefined;
  try {
    parsed = res.text ? JSON.parse(res.text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed as T, text: res.text, ms: Date.now() - started };
}

/** Expect a status or throw an error naming the call (seeding steps must not fail silently). */
export function expectStatus<T>(what: string, r: HttpResult<T>, ...statuses: number[]): HttpResult<T> {
  if (!statuses.includes(r.status))
    throw new Error(`${what}: expected ${statuses.join('/')}, got ${r.status} ${r.text.slice(0, 500)}`);
  return r;
}
