import type { AdminRole, SsoRoleMapping } from '@app/persistence';
import { normalizeEmail } from '../token-service';
import { SsoError } from './errors';

/**
 * What an ID token's claims mean here: an email in one of the tenant's allowed domains (exact domain match, no
 * subdomains: `evil.acme.com` is not `acme.com`), not marked unverified by the IdP, and the strongest role any of
 * the user's groups maps to. No mapped group, no access: JIT provisioning never guesses a role.
 */
export function emailFromClaims(claims: Record<string, unknown>, allowedDomains: readonly string[]): string {
  const raw = claims.email;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 254)
    throw new SsoError('SSO_EMAIL_MISSING', 'the IdP did not send an email address for this user');
  if (claims.email_verified === false)
    throw new SsoError('SSO_EMAIL_MISSING', 'the IdP says this email address is not verified');
  const email = normalizeEmail(raw);
  const parts = email.split('@');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new SsoError('SSO_EMAIL_MISSING', 'the IdP sent an email claim that is not one address');
  const domain = parts[1];
  if (!allowedDomains.includes(domain))
    throw new SsoError('SSO_EMAIL_DOMAIN_NOT_ALLOWED', `email addresses at ${domain} may not sign in to this tenant`);
  return email;
}

export function roleFromClaims(
  claims: Record<string, unknown>,
  groupsClaim: string,
  mappings: readonly SsoRoleMapping[],
): AdminRole {
  const v = claims[groupsClaim];
  const groups = new Set(
    Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string') : typeof v === 'string' ? [v] : [],
  );
  const roles = mappings.filter((m) => groups.has(m.group)).map((m) => m.role);
  if (roles.includes('key_admin')) return 'key_admin';
  if (roles.includes('auditor')) return 'auditor';
  throw new SsoError(
    'SSO_NO_ROLE_MAPPING',
    `none of this user's groups (claim "${groupsClaim}") is mapped to a Keyhold role`,
  );
}
