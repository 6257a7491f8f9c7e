/** Minimal JSON-over-HTTP helpers for the harness (Node's fetch; loopback only). */

export class HttpError extends Error {
  constructor(
    readonly what: string,
    readonly status: number,
    readonly code: string | null,
    detail: string,
  ) {
    super(`${what}: HTTP ${status}${code ? ` ${code}` : ''}${detail ? ` (${detail})` : ''}`);
  }
}

export interface JsonResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export async function requestJson<T>(
  what: string,
  url: string,
  init: { method?: string; token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  let body: unknown = undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** Like requestJson but any status outside `expect` is an HttpError naming the call and the API's error code. */
export async function expectJson<T>(
  what: string,
  url: string,
  expect: number[],
  init: { method?: string; token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<T> {
  const res = await requestJson<T>(what, url, init);
  if (!expect.includes(res.status)) {
    const err = (res.body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new HttpError(
      what,
      res.status,
      err?.code ?? null,
      err?.message ?? (typeof res.body === 'string' ? res.body.slice(0, 200) : ''),
    );
  }
  return res.body;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<I, O>(
  items: readonly I[],
  limit: number,
  fn: (item: I, index: number) => Promise<O>,
): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return out;
}
