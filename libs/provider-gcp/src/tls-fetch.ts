import { request as httpsRequest, type Agent } from 'node:https';

const MAX_RESPONSE = 1024 * 1024;

/**
 * A minimal `fetch` for gaxios (google-auth-library's transport) over node:https with a given Agent, so the
 * IAM Credentials call can trust a private CA (the local emulator) without NODE_EXTRA_CA_CERTS. It also keeps
 * gaxios from dynamically importing node-fetch, which fails under some module loaders (jest's vm). Answers a
 * standard `Response`. Only what gaxios uses: method, headers, string/Buffer body, AbortSignal.
 */
export function fetchOverAgent(agent: Agent): typeof fetch {
  return async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'https:') throw new TypeError(`refusing non-https URL ${url.origin}`);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    const body =
      init.body === undefined || init.body === null ? undefined : Buffer.from(init.body as string | Uint8Array);
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE) req.destroy(new Error('response too large'));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
            }
            const status = res.statusCode ?? 0;
            const noBody = status === 204 || status === 304;
            resolve(
              new Response(noBody ? null : Buffer.concat(chunks), {
                status,
                statusText: res.statusMessage,
                headers: h,
              }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}
