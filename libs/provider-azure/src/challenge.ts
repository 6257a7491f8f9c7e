import { request, Agent } from 'node:https';

/**
 * Reads the Entra tenant a vault belongs to from its bearer challenge: an unauthenticated GET on the key answers
 * 401 with `WWW-Authenticate: Bearer authorization="https://login.../{tenant}", resource="..."`. The SDK consumes
 * that header internally; validation needs it to tell an admin "this vault is in another tenant" instead of a
 * generic sign-in failure. The URL has already passed parseAzureKeyUrl and the request goes through the guarded
 * agent, so this adds no new SSRF surface. No credential is sent.
 */
export interface VaultChallenge {
  tenantId: string | null;
  authorization: string | null;
  resource: string | null;
}

export function probeVaultChallenge(
  keyId: string,
  agent: Agent,
  timeoutMs: number,
  apiVersion = '7.5',
): Promise<VaultChallenge> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${keyId}/?api-version=${apiVersion}`);
    const req = request(
      url,
      { method: 'GET', agent, timeout: timeoutMs, headers: { accept: 'application/json' } },
      (res) => {
        res.resume(); // the body is irrelevant and may be large: drain it
        const header = res.headers['www-authenticate'];
        if (res.statusCode !== 401 || typeof header !== 'string') {
          resolve({ tenantId: null, authorization: null, resource: null });
          return;
        }
        resolve(parseChallenge(header));
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('vault challenge probe timed out'), { name: 'AbortError' })),
    );
    req.on('error', reject);
    req.end();
  });
}

/** Parses `Bearer authorization="…", resource="…"` (or `authorization_uri`, as some endpoints spell it). */
export function parseChallenge(header: string): VaultChallenge {
  const params = new Map<string, string>();
  for (const m of header.matchAll(/([a-z_]+)="([^"]*)"/gi)) params.set(m[1].toLowerCase(), m[2]);
  const authorization = params.get('authorization') ?? params.get('authorization_uri') ?? null;
  let tenantId: string | null = null;
  if (authorization) {
    try {
      tenantId = new URL(authorization).pathname.split('/').filter(Boolean)[0]?.toLowerCase() ?? null;
    } catch {
      tenantId = null;
    }
  }
  return { tenantId, authorization, resource: params.get('resource') ?? params.get('scope') ?? null };
}
