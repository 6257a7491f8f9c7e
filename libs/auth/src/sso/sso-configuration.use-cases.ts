import type { SsoConfigurationRow, SsoRoleMapping } from '@app/persistence';
import type { SsoDeps } from './deps';
import { SsoError } from './errors';
import { parseIssuerUrl } from './issuer-url';

export interface SsoConfigurationInput {
  issuer: string;
  clientId: string;
  /** Required when the tenant has no configuration yet; omitted = keep the stored one. */
  clientSecret?: string;
  allowedEmailDomains: string[];
  groupsClaim?: string;
  roleMappings: SsoRoleMapping[];
  ssoRequired?: boolean;
  breakGlassAdminUserId?: string | null;
}

/** What the API shows: never the client secret, only whether one is stored. */
export function ssoView(c: SsoConfigurationRow, redirectUri: string) {
  return {
    configured: true as const,
    issuer: c.issuer,
    clientId: c.clientId,
    clientSecretSet: true,
    allowedEmailDomains: c.allowedEmailDomains,
    groupsClaim: c.groupsClaim,
    roleMappings: c.roleMappings,
    ssoRequired: c.ssoRequired,
    breakGlassAdminUserId: c.breakGlassAdminUserId,
    redirectUri,
    version: c.version,
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}

function requireBox(deps: SsoDeps) {
  if (!deps.box)
    throw new SsoError(
      'SSO_UNAVAILABLE',
      'single sign-on is not enabled on this installation (no SSO secret key configured)',
    );
  return deps.box;
}

export interface GetSsoConfigurationCommand {
  readonly tenantId: string;
}

export class GetSsoConfiguration {
  constructor(private readonly deps: SsoDeps) {}

  /** Always an answer: an unconfigured tenant still needs the redirect URI to register at its IdP. */
  async execute({ tenantId }: GetSsoConfigurationCommand) {
    const c = await this.deps.repos.sso.find(tenantId);
    if (!c) return { configured: false as const, redirectUri: this.deps.redirectUri };
    return ssoView(c, this.deps.redirectUri);
  }
}

export interface PutSsoConfigurationCommand {
  readonly actor: string;
  readonly tenantId: string;
  readonly input: SsoConfigurationInput;
}

/**
 * Creates or replaces the tenant's SSO configuration. The issuer is parsed (SSRF rules) and its discovery document
 * read through the guarded client before anything is stored, so a saved configuration names a real IdP. SSO
 * required needs a break-glass key admin (enabled, of this tenant) who may still sign in with a password. The
 * change and its audit record commit together; the secret never reaches the log.
 */
export class PutSsoConfiguration {
  constructor(private readonly deps: SsoDeps) {}

  async execute({ actor, tenantId, input }: PutSsoConfigurationCommand) {
    const box = requireBox(this.deps);
    const issuer = parseIssuerUrl(input.issuer, this.deps.policy);
    const domains = [...new Set(input.allowedEmailDomains.map((d) => d.trim().toLowerCase()))];
    const ssoRequired = input.ssoRequired ?? false;
    const breakGlass = input.breakGlassAdminUserId?.toLowerCase() ?? null;
    const existing = await this.deps.repos.sso.find(tenantId);
    if (!existing && input.clientSecret === undefined)
      throw new SsoError('SSO_CONFIG_INVALID', 'clientSecret is required for a new configuration');
    if (ssoRequired && !breakGlass)
      throw new SsoError(
        'SSO_BREAK_GLASS_INVALID',
        'SSO required needs a break-glass key admin who may still sign in with a password',
      );
    if (breakGlass) {
      const u = await this.deps.repos.adminAccounts.find(tenantId, breakGlass);
      if (!u || u.disabled || u.role !== 'key_admin')
        throw new SsoError(
          'SSO_BREAK_GLASS_INVALID',
          'the break-glass admin must be an enabled key admin of this tenant',
        );
    }
    let clientSecret = input.clientSecret;
    if (clientSecret === undefined) {
      try {
        clientSecret = box.open(tenantId, existing!.clientSecretSealed);
      } catch {
        throw new SsoError(
          'SSO_CONFIG_INVALID',
          'the stored client secret cannot be opened (the SSO secret key changed): enter the client secret again',
        );
      }
    }
    // Discovery now, with the new settings: a typo in the issuer is reported to the admin, not to the next sign-in.
    await this.deps.clients.build({
      tenantId,
      version: -1,
      issuer,
      clientId: input.clientId,
      clientSecret,
      redirectUri: this.deps.redirectUri,
    });
    const saved = await this.deps.repos.ds.transaction(async (m) => {
      const row = await this.deps.repos.sso.upsert(m, tenantId, {
        issuer,
        clientId: input.clientId,
        clientSecretSealed:
          input.clientSecret === undefined ? existing!.clientSecretSealed : box.seal(tenantId, input.clientSecret),
        allowedEmailDomains: domains,
        groupsClaim: input.groupsClaim ?? 'groups',
        roleMappings: input.roleMappings.map((r) => ({ group: r.group, role: r.role })),
        ssoRequired,
        breakGlassAdminUserId: breakGlass,
      });
      await this.deps.audit.append(
        tenantId,
        {
          actor,
          action: existing ? 'sso.configuration_updated' : 'sso.configuration_created',
          target: `tenant:${tenantId}/sso`,
          outcome: 'success',
          details: {
            issuer,
            clientId: input.clientId,
            clientSecretChanged: input.clientSecret !== undefined,
            allowedEmailDomains: domains,
            groupsClaim: row.groupsClaim,
            roleMappings: row.roleMappings,
            ssoRequired,
            breakGlassAdminUserId: breakGlass,
            version: row.version,
          },
        },
        m,
      );
      return row;
    });
    this.deps.clients.forget(tenantId);
    return ssoView(saved, this.deps.redirectUri);
  }
}

export interface DeleteSsoConfigurationCommand {
  readonly actor: string;
  readonly tenantId: string;
}

export class DeleteSsoConfiguration {
  constructor(private readonly deps: SsoDeps) {}

  async execute({ actor, tenantId }: DeleteSsoConfigurationCommand): Promise<void> {
    const deleted = await this.deps.repos.ds.transaction(async (m) => {
      if (!(await this.deps.repos.sso.delete(m, tenantId))) return false;
      await this.deps.audit.append(
        tenantId,
        { actor, action: 'sso.configuration_deleted', target: `tenant:${tenantId}/sso`, outcome: 'success' },
        m,
      );
      return true;
    });
    if (!deleted) throw new SsoError('SSO_NOT_CONFIGURED', 'this tenant has no single sign-on configuration');
    this.deps.clients.forget(tenantId);
  }
}

/** Password sign-in under "SSO required": only the break-glass admin. Asked after the password proved right. */
export class SsoPasswordPolicy {
  constructor(private readonly deps: Pick<SsoDeps, 'repos'>) {}

  async passwordAllowed(tenantId: string, adminUserId: string): Promise<boolean> {
    const c = await this.deps.repos.sso.find(tenantId);
    return !c || !c.ssoRequired || c.breakGlassAdminUserId === adminUserId;
  }
}
