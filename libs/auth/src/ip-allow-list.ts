import { BlockList, isIP } from 'node:net';

/**
 * Per-service-principal source address allow-lists (CIDR). The address checked is the one the HTTP server
 * computed for the request (Fastify's `request.ip`), so behind a load balancer it is only the client's own
 * address when the server is told to trust that proxy; otherwise it is the proxy's.
 */
export const MAX_ALLOW_LIST_ENTRIES = 100;

/** A canonical CIDR (`10.0.0.0/8`, `2001:db8::/32`) or undefined when the text is not one (host bits set = not one). */
export function canonicalCidr(text: string): string | undefined {
  const m = /^([0-9a-fA-F.:]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const family = isIP(m[1]);
  const prefix = Number(m[2]);
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) return undefined;
  const bytes = addressBytes(m[1], family);
  // Host bits must be zero: "10.0.0.1/8" is almost always a typo for a single host, and silently widening it is worse.
  for (let bit = prefix; bit < bytes.length * 8; bit++) if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return undefined;
  return `${family === 4 ? m[1] : m[1].toLowerCase()}/${prefix}`;
}

/** A compiled allow-list; `allows` on an empty list is always true (no restriction). */
export class IpAllowList {
  private readonly list: BlockList | undefined;

  constructor(cidrs: readonly string[]) {
    if (!cidrs.length) return;
    this.list = new BlockList();
    for (const c of cidrs) {
      const [addr, prefix] = c.split('/');
      const family = isIP(addr);
      if (family === 0) continue;
      this.list.addSubnet(addr, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  get restricted(): boolean {
    return this.list !== undefined;
  }

  allows(ip: string | undefined): boolean {
    if (!this.list) return true;
    if (!ip) return false;
    // A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6 (::ffff:a.b.c.d): check the IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const addr = mapped ? mapped[1] : ip;
    const family = isIP(addr);
    if (family === 0) return false;
    return this.list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  }
}

function addressBytes(addr: string, family: number): Uint8Array {
  if (family === 4) return Uint8Array.from(addr.split('.').map(Number));
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const expand = (g: string[]) => g.flatMap((x) => (x.includes('.') ? ipv4Groups(x) : [parseInt(x, 16)]));
  const h = expand(groups(head));
  const t = expand(groups(tail));
  const all = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

function ipv4Groups(v4: string): number[] {
  const b = v4.split('.').map(Number);
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
}
