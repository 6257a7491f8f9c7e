import { assertOutboundUrl, OutboundPolicy } from './outbound';
import { SsoError } from './errors';

/**
 * A tenant-supplied issuer URL, strictly: printable ASCII, at most 512 characters, no query or fragment (OpenID
 * Connect Discovery §2: the issuer is an https URL with no query or fragment), then the outbound rules. The
 * canonical form drops one trailing slash so "…/realm" and "…/realm/" are the same configuration; the ID token's
 * `iss` is compared with what discovery announces, not with this string.
 */
export function parseIssuerUrl(input: string, policy: OutboundPolicy): string {
  const bad = (why: string): never => {
    throw new SsoError('SSO_ISSUER_REJECTED', `The issuer URL ${why}.`);
  };
  if (typeof input !== 'string' || input.length === 0) return bad('is missing');
  if (input.length > 512) return bad('is too long');
  if (/[^\x21-\x7e]/.test(input)) return bad('contains spaces, control or non-ASCII characters');
  if (/[\\@]/.test(input)) return bad('contains a backslash or an @');
  if (input.includes('?') || input.includes('#')) return bad('must not have a query string or fragment');
  const url = assertOutboundUrl(input, policy, 'The issuer URL');
  if (url.hostname.endsWith('.')) return bad('must not end the host name with a dot');
  return url.href.replace(/\/$/, '');
}
