import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { Agent } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { AzureProviderSettings } from './settings';

/**
 * One keep-alive https agent for every Azure call, carrying (a) the configured TLS trust and (b) a resolver that
 * maps configured emulator hosts to their address and otherwise refuses to connect to loopback, private,
 * link-local or metadata addresses at connect time, whatever the name resolved to. Parsing already limits tenants to Key Vault hosts; this is the second wall, against DNS that points a
 * vault-looking name at an internal address.
 */
export function createAzureAgent(settings: Pick<AzureProviderSettings, 'tlsCaPem' | 'allowedEmulatorHosts'>): Agent {
  const mapped = new Map(settings.allowedEmulatorHosts.map((e) => [e.host, e.connectHost]));
  return new Agent({
    keepAlive: true,
    maxSockets: 64,
    ca: settings.tlsCaPem ? [settings.tlsCaPem] : undefined,
    lookup: guardedLookup(mapped),
  });
}

/**
 * The connect-time address check, as an agent `lookup`: names in `mapped` go to their configured address; every
 * other name is resolved and refused (EKEYHOLD_BLOCKED_ADDRESS) when any address it resolves to is internal,
 * unless `allowAddress` lets that address through (an explicit dev/test setting, never production). Every
 * outbound call that a tenant can aim (Azure key URLs, SIEM destinations) goes through this one function.
 */
export function guardedLookup(
  mapped: ReadonlyMap<string, string> = new Map(),
  allowAddress?: (address: string) => boolean,
): LookupFunction {
  return (hostname, options, cb) => {
    const opts = { family: options.family, hints: options.hints };
    const all = options.all === true;
    const target = mapped.get(hostname.toLowerCase());
    if (target) {
      dnsLookup(target, { ...opts, all: true }, (err, addrs) => finish(err, addrs));
      return;
    }
    dnsLookup(hostname, { ...opts, all: true }, (err, addrs) => {
      if (err) return cb(err, []);
      const blocked = addrs.find((a) => isInternalAddress(a.address) && !allowAddress?.(a.address));
      if (blocked) return cb(blockedAddressError(hostname), []);
      finish(null, addrs);
    });
    function finish(err: NodeJS.ErrnoException | null, addrs: LookupAddress[]): void {
      if (err) return cb(err, []);
      if (all) return cb(null, addrs);
      const first = addrs[0];
      if (!first) return cb(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      cb(null, first.address, first.family);
    }
  };
}

export function blockedAddressError(hostname: string): Error {
  return Object.assign(new Error(`refusing to connect to ${hostname}: it resolves to an internal address`), {
    code: 'EKEYHOLD_BLOCKED_ADDRESS',
  });
}

/** A pipeline policy putting our agent on every request of an Azure SDK client (vault clients and credentials). */
export function agentPolicy(agent: Agent): PipelinePolicy {
  return {
    name: 'keyholdAgentPolicy',
    sendRequest(request, next) {
      request.agent = agent;
      return next(request);
    },
  };
}

/** Loopback, RFC 1918, CGNAT, link-local (incl. the 169.254.169.254 metadata service), ULA, unspecified. */
export function isInternalAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) {
    const [a, b] = address.split('.').map(Number);
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (v === 6) {
    const x = address.toLowerCase();
    if (x === '::' || x === '::1') return true;
    if (x.startsWith('::ffff:')) return isInternalAddress(x.slice(7));
    return (
      x.startsWith('fc') ||
      x.startsWith('fd') ||
      x.startsWith('fe8') ||
      x.startsWith('fe9') ||
      x.startsWith('fea') ||
      x.startsWith('feb')
    );
  }
  return true;
}
