import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Ip, Post, Put, Query, Res } from '@nestjs/common';
import { SsoError, type AccessClaims, SSO, Sso, TokenService } from '@app/auth';
import { DomainError } from '@app/keys';
import type { FastifyReply } from 'fastify';
import { actorOf, AdminRoute, Claims } from '../auth';
import { ssoSchemas } from '../sso.schemas';
import { parseBody } from '../validation';

/** The tenant's SSO configuration: key admins change it, auditors may read it; the client secret never leaves. */
@Controller('v1/tenants/:tenantId/sso')
export class SsoConfigurationController {
  constructor(@Inject(SSO) private readonly sso: Sso) {}

  @Get()
  @AdminRoute('key_admin', 'auditor')
  get(@Claims() c: AccessClaims) {
    return this.sso.getConfiguration.execute({ tenantId: c.tid });
  }

  @Put()
  @AdminRoute('key_admin')
  put(@Claims() c: AccessClaims, @Body() body: unknown) {
    return this.sso.putConfiguration.execute({
      actor: actorOf(c),
      tenantId: c.tid,
      input: parseBody(ssoSchemas.configuration, body),
    });
  }

  @Delete()
  @HttpCode(204)
  @AdminRoute('key_admin')
  async remove(@Claims() c: AccessClaims) {
    await this.sso.deleteConfiguration.execute({ actor: actorOf(c), tenantId: c.tid });
  }
}

const LOGIN_COOKIE = 'keyhold_sso_login';
const HANDOFF_COOKIE = 'keyhold_sso_handoff';
// A little longer than the longest allowed sign-in (KEYHOLD_SSO_LOGIN_TTL_SECONDS ≤ 3600); the server record decides.
const LOGIN_COOKIE_MAX_AGE = 3600;

/**
 * The browser side of SSO (public routes). The login route sends the browser to the tenant's IdP and plants an
 * httpOnly cookie binding the attempt to this browser; the callback completes it and sends the browser back to
 * the console, which collects its access token with POST /v1/sso/session (cookie-bound, single use) — the token
 * never travels in a URL. Browser-facing failures redirect to the console's SSO error page with the error code.
 */
@Controller('v1/sso')
export class SsoSignInController {
  constructor(
    @Inject(SSO) private readonly sso: Sso,
    private readonly tokens: TokenService,
  ) {}

  @Get('login')
  async login(@Query() query: Record<string, unknown>, @Ip() ip: string, @Res() reply: FastifyReply) {
    await this.tokens.throttle.address(ip);
    try {
      const { tenant_id } = parseBody(ssoSchemas.login, { ...query });
      const r = await this.sso.start.execute({ tenantId: tenant_id });
      this.noStore(reply)
        .header('set-cookie', this.cookie(LOGIN_COOKIE, r.browserSecret, LOGIN_COOKIE_MAX_AGE))
        .redirect(r.authorizationUrl, 302);
    } catch (err) {
      this.failed(reply, err);
    }
  }

  @Get('callback')
  async callback(
    @Query() query: Record<string, unknown>,
    @Headers('cookie') cookie: string | undefined,
    @Ip() ip: string,
    @Res() reply: FastifyReply,
  ) {
    await this.tokens.throttle.address(ip);
    try {
      const params = parseBody(ssoSchemas.callback, { ...query });
      const r = await this.sso.complete.execute({ params, browserSecret: readCookie(cookie, LOGIN_COOKIE) });
      this.noStore(reply)
        .header('set-cookie', this.cookie(HANDOFF_COOKIE, r.handoff, 60))
        .redirect(`${this.sso.consoleUrl}/#/sso-complete`, 302);
    } catch (err) {
      this.failed(reply, err);
    }
  }

  @Post('session')
  @HttpCode(200)
  async session(
    @Headers('cookie') cookie: string | undefined,
    @Ip() ip: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    await this.tokens.throttle.address(ip);
    const r = await this.sso.exchange.execute({
      handoff: readCookie(cookie, HANDOFF_COOKIE),
      browserSecret: readCookie(cookie, LOGIN_COOKIE),
    });
    this.noStore(reply).header('set-cookie', [this.cookie(LOGIN_COOKIE, '', 0), this.cookie(HANDOFF_COOKIE, '', 0)]);
    return r;
  }

  private noStore(reply: FastifyReply): FastifyReply {
    // The callback URL carries the code: no caching, and no Referer sent from whatever the browser loads next.
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
  }

  private cookie(name: string, value: string, maxAgeSeconds: number): string {
    const secure = this.sso.consoleUrl.startsWith('https:') ? '; Secure' : '';
    // Lax: the IdP's redirect back is a cross-site top-level GET, which Strict would strip the cookie from.
    return `${name}=${value}; Path=/v1/sso; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`;
  }

  private failed(reply: FastifyReply, err: unknown): void {
    const code = err instanceof SsoError ? err.code : err instanceof DomainError ? err.code : null;
    if (!code) throw err;
    this.noStore(reply).redirect(`${this.sso.consoleUrl}/#/sso-error/${code}`, 302);
  }
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}
