import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { type AuthClient, GoogleAuth, Impersonated, OAuth2Client } from 'google-auth-library';
import { ImpersonationError } from './classify';
import type { GcpProviderSettings } from './settings';
import { fetchOverAgent } from './tls-fetch';

export const KMS_SCOPE = 'https://www.googleapis.com/auth/cloudkms';
/** Short-lived tokens: a revoked grant or a disabled account takes effect within this window at worst. */
const TOKEN_LIFETIME_SECONDS = 900;

/**
 * Keyhold's identities on Google Cloud: the vendor source identity (a static token in emulator/dev mode,
 * Application Default Credentials otherwise) and one impersonated identity per tenant service account.
 */
export class GcpIdentity {
  private readonly transporterOptions: { agent: Agent; fetchImplementation: typeof fetch; timeout: number };
  private vendor: Promise<AuthClient> | null = null;

  constructor(private readonly settings: GcpProviderSettings) {
    // A private CA is added to (not substituted for) the public roots, so ADC's own token endpoint still verifies.
    const agent = new Agent({
      keepAlive: true,
      ca: settings.tlsCaPem ? [...rootCertificates, settings.tlsCaPem] : undefined,
    });
    // timeout bounds each attempt of a token request (gaxios aborts the fetch through its signal).
    this.transporterOptions = { agent, fetchImplementation: fetchOverAgent(agent), timeout: settings.requestTimeoutMs };
  }

  private vendorClient(): Promise<AuthClient> {
    if (!this.vendor) {
      if (this.settings.vendorAccessToken) {
        const c = new OAuth2Client({ transporterOptions: this.transporterOptions });
        // No expiry_date: the static dev token is used as-is and never refreshed.
        c.setCredentials({ access_token: this.settings.vendorAccessToken });
        this.vendor = Promise.resolve(c);
      } else {
        const auth = new GoogleAuth({
          scopes: ['https://www.googleapis.com/auth/cloud-platform'],
          clientOptions: { transporterOptions: this.transporterOptions },
        });
        this.vendor = auth.getClient();
      }
    }
    return this.vendor;
  }

  /** An Impersonated client for one tenant service account; it caches and refreshes its own token. */
  async impersonate(serviceAccount: string): Promise<Impersonated> {
    return new Impersonated({
      sourceClient: await this.vendorClient(),
      targetPrincipal: serviceAccount,
      targetScopes: [KMS_SCOPE],
      lifetime: TOKEN_LIFETIME_SECONDS,
      endpoint: this.settings.iamCredentialsEndpoint,
      transporterOptions: this.transporterOptions,
    });
  }

  close(): void {
    this.transporterOptions.agent.destroy();
  }
}

/**
 * Gets (or reuses) the token within `timeoutMs`; any failure becomes an ImpersonationError carrying the HTTP status
 * only. google-auth-library retries generateAccessToken on its own (gaxios: 3 retries with backoff, not
 * configurable per request), so the call's deadline is enforced here: past it the caller gets `unavailable` and
 * the library's bounded attempt finishes in the background (its result still primes the token cache).
 */
export async function accessToken(client: Impersonated, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ImpersonationError(0, 'DEADLINE_EXCEEDED')), Math.max(1, timeoutMs));
  });
  const pending = client.getAccessToken();
  pending.catch(() => undefined); // a late failure after the deadline must not become an unhandled rejection
  try {
    const { token } = await Promise.race([pending, deadline]);
    if (!token) throw new ImpersonationError(0, 'EMPTY_TOKEN');
    return token;
  } catch (err) {
    if (err instanceof ImpersonationError) throw err;
    const e = err as {
      status?: unknown;
      response?: { status?: number; data?: { error?: { status?: string } } };
      code?: unknown;
      cause?: { code?: unknown };
    };
    const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : 0);
    const reason =
      e.response?.data?.error?.status ??
      (typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : 'NETWORK');
    throw new ImpersonationError(status, reason);
  } finally {
    clearTimeout(timer);
  }
}
