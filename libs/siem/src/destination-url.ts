import { isIP } from 'node:net';
import { isInternalAddress } from '@app/provider-azure';
import { DomainError, ErrorCode } from '@app/keys';
import type { SiemKind } from '@app/persistence';

/** 127.0.0.0/8 and ::1 (also as IPv4-mapped): the only internal addresses the dev/test setting lets through. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export const SPLUNK_HEC_EVENT_PATH = '/services/collector/event';

/**
 * A tenant-supplied destination URL names a network host, so it is parsed strictly (the same rules as Azure key
 * URLs, docs/SECURITY-MODEL.md): absolute https, no user info, no fragment, no characters a parser would rewrite;
 * an IP literal must not be internal. Names are checked again where it matters, at connect time, by the shared
 * guarded lookup (DNS can point any name at 169.254.169.254). Loopback, and plain http to it, only with the
 * explicit dev/test setting. A Splunk HEC URL given as a bare origin gets the event endpoint's path.
 */
export function parseDestinationUrl(input: unknown, kind: SiemKind, allowLoopback: boolean): string {
  const bad = (why: string): never => {
    throw new DomainError(ErrorCode.InvalidIdentifier, `url: the destination URL ${why}`);
  };
  if (typeof input !== 'string' || !input) return bad('is missing');
  if (input.length > 2048) return bad('is too long');
  if (/[^\x21-\x7e]/.test(input)) return bad('contains spaces, control or non-ASCII characters');
  if (/[\\@]/.test(input)) return bad('contains a backslash or an @');
  if (!/^https?:\/\//i.test(input)) return bad('must start with https://');
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return bad('is not a valid URL');
  }
  if (url.username || url.password) return bad('must not carry a user name or password');
  if (url.hash || input.includes('#')) return bad('must not have a fragment');
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  // What was written, not what the parser made of it: 0x7f000001, 2130706433 or 127.1 all become 127.0.0.1.
  const written = input
    .slice(input.indexOf('//') + 2)
    .split(/[/?#]/)[0]
    .toLowerCase();
  const writtenHost = written.startsWith('[') ? written.slice(1, written.indexOf(']')) : written.split(':')[0];
  if (isIP(host) && writtenHost !== host) return bad('names an IP address in an unusual notation');
  if (!host || host.endsWith('.')) return bad('must name a host (without a trailing dot)');
  if (/^0x/i.test(host) || /^[0-9.]+$/.test(host) || isIP(host)) {
    if (!isIP(host)) return bad('names an IP address in an unusual notation');
    if (isInternalAddress(host) && !(allowLoopback && isLoopbackAddress(host)))
      return bad('names an internal address (private, loopback, link-local or metadata)');
  }
  const loopbackName = host === 'localhost' || isLoopbackAddress(host);
  if (url.protocol === 'http:' && !(allowLoopback && loopbackName)) return bad('must use https');
  if (kind === 'splunk-hec' && (url.pathname === '/' || url.pathname === '')) url.pathname = SPLUNK_HEC_EVENT_PATH;
  return url.toString();
}
