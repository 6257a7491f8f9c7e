import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { isInternalAddress } from '@app/provider-azure';
import { SsoError } from './errors';

/**
 * Every request Keyhold makes to a tenant's IdP (discovery, JWKS, token) goes to a host a tenant typed in, so it
 * passes the same two walls as tenant-supplied Key Vault URLs (the address test is shared with the Azure binding):
 *  1. the URL: http(s) only, https unless loopback issuers are allowed (dev/test), no user info, and an IP
 *     literal host must not be internal (Node connects to literals without any name lookup);
 *  2. connect time: the resolver refuses loopback, private, link-local and metadata addresses whatever the name
 *     resolved to, so DNS that points an innocent-looking name inward is caught where it matters.
 * With loopback allowed, only 127.0.0.0/8 and ::1 are let through; private and metadata ranges stay refused.
 */
export interface OutboundPolicy {
  readonly allowLoopback: boolean;
}

const isLoopback = (address: string): boolean => {
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
};

export function addressAllowed(address: string, policy: OutboundPolicy): boolean {
  if (!isInternalAddress(address)) return true;
  return policy.allowLoopback && isLoopback(address);
}

/** Throws SSO_ISSUER_REJECTED unless Keyhold may call this URL. */
export function assertOutboundUrl(raw: string | URL, policy: OutboundPolicy, what = 'the IdP URL'): URL {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    throw new SsoError('SSO_ISSUER_REJECTED', `${what} is not a valid URL`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopbackHost = host === 'localhost' || isLoopback(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback && loopbackHost))
    throw new SsoError('SSO_ISSUER_REJECTED', `${what} must use https`);
  if (url.username || url.password)
    throw new SsoError('SSO_ISSUER_REJECTED', `${what} must not carry a user name or password`);
  if (isIP(host) && !addressAllowed(host, policy))
    throw new SsoError('SSO_ISSUER_REJECTED', `${what} points at an internal address`);
  if (host === 'localhost' && !policy.allowLoopback)
    throw new SsoError('SSO_ISSUER_REJECTED', `${what} points at an internal address`);
  return url;
}

/** A `lookup` for Node's http(s) agents that refuses internal addresses at connect time. */
export function guardedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: unknown, callback: unknown): void => {
    const cb = (typeof options === 'function' ? options : callback) as (
      err: Error | null,
      address?: string | LookupAddress[],
      family?: number,
    ) => void;
    const opts = (typeof options === 'function' ? {} : (options ?? {})) as { all?: boolean; family?: number };
    dnsLookup(hostname, { ...opts, all: true }, (err, addrs) => {
      if (err) return cb(err);
      if (addrs.length === 0 || addrs.some((a) => !addressAllowed(a.address, policy))) {
        return cb(
          Object.assign(new Error(`refusing to connect to ${hostname}: it resolves to an internal address`), {
            code: 'EKEYHOLD_BLOCKED_ADDRESS',
          }),
        );
      }
      if (opts.all) return cb(null, addrs);
      cb(null, addrs[0].address, addrs[0].family);
    });
  };
}
