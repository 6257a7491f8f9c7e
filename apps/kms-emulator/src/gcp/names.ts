/** Cloud KMS resource names, parsed strictly: a malformed name is INVALID_ARGUMENT, never a lookup. */
const ID = '[a-zA-Z0-9_-]{1,63}';
const RING = `projects/([a-z][a-z0-9-]{4,28}[a-z0-9])/locations/([a-zA-Z0-9_-]{1,63})/keyRings/(${ID})`;
export const LOCATION_RE = /^projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/locations\/([a-zA-Z0-9_-]{1,63})$/;
export const RING_RE = new RegExp(`^${RING}$`);
export const KEY_RE = new RegExp(`^(${RING})/cryptoKeys/(${ID})$`);
export const VERSION_RE = new RegExp(`^((${RING})/cryptoKeys/${ID})/cryptoKeyVersions/([1-9][0-9]{0,9})$`);
export const ID_RE = new RegExp(`^${ID}$`);

export type ParsedName =
  | { kind: 'keyRing'; ring: string }
  | { kind: 'cryptoKey'; ring: string; key: string }
  | { kind: 'version'; ring: string; key: string; version: number };

export function parseName(name: unknown): ParsedName | null {
  if (typeof name !== 'string') return null;
  if (RING_RE.test(name)) return { kind: 'keyRing', ring: name };
  const k = KEY_RE.exec(name);
  if (k) return { kind: 'cryptoKey', ring: k[1], key: name };
  const v = VERSION_RE.exec(name);
  if (v) return { kind: 'version', ring: v[2], key: v[1], version: Number(v[v.length - 1]) };
  return null;
}
