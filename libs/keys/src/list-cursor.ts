import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { DomainError, ErrorCode } from './errors';

/** What a cursor is bound to: a cursor minted for one of these answers 400 for any other. */
export interface CursorScope {
  readonly tenantId: string;
  /** Which list (`workspaces`, `operations:<workspace id>`…). */
  readonly list: string;
  readonly sort: string;
  /** The filters of the request, normalised by the caller (arrays sorted, absent values left out). */
  readonly filters: Readonly<Record<string, unknown>>;
}

export interface CursorKeys {
  readonly value: string;
  readonly id: string;
}

const VERSION = 1;
const NONCE = 12;
const TAG = 16;
const MAX_CURSOR_CHARS = 1024;

/** JSON with object keys sorted, so equal scopes give equal bytes whatever order the filters were built in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Opaque paging cursors: AES-256-GCM over the keyset of the last row, with the scope (tenant, list, sort, filters) as
 * associated data. So a cursor cannot be read (it may carry a workspace name, and URLs end up in access logs), cannot
 * be edited (any change fails the tag), and cannot be replayed with other filters, another sort or by another tenant
 * (the associated data differs, the tag fails). Hand-written because it is ten lines over node:crypto; a signed-token
 * library would add a format and a dependency for the same two calls.
 *
 * The keys are derived from Keyhold's token keys (HKDF, own label), so every replica agrees and a rotation of the
 * token keys keeps cursors minted under the previous first key readable while that key is still configured.
 */
export class ListCursors {
  private readonly keys: readonly Buffer[];

  constructor(secrets: readonly string[]) {
    if (!secrets.length) throw new Error('ListCursors needs at least one secret');
    this.keys = secrets.map((s) => Buffer.from(hkdfSync('sha256', s, 'keyhold', 'keyhold/list-cursor', 32)));
  }

  encode(scope: CursorScope, keys: CursorKeys): string {
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv('aes-256-gcm', this.keys[0], nonce);
    cipher.setAAD(Buffer.from(canonical([VERSION, scope])));
    const body = Buffer.concat([cipher.update(JSON.stringify([keys.value, keys.id]), 'utf8'), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
  }

  /** The keyset the cursor carries; 400 INVALID_CURSOR when it was not minted by Keyhold for exactly this scope. */
  decode(scope: CursorScope, cursor: string): CursorKeys {
    const bad = () =>
      new DomainError(
        ErrorCode.InvalidCursor,
        'cursor: not a cursor this API returned for this list, sort and filters; start again without it',
      );
    if (cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
    const raw = Buffer.from(cursor, 'base64url');
    if (raw.length < NONCE + TAG + 1) throw bad();
    const aad = Buffer.from(canonical([VERSION, scope]));
    for (const key of this.keys) {
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE));
        d.setAAD(aad);
        d.setAuthTag(raw.subarray(raw.length - TAG));
        const text = Buffer.concat([d.update(raw.subarray(NONCE, raw.length - TAG)), d.final()]).toString('utf8');
        const parsed: unknown = JSON.parse(text);
        if (
          Array.isArray(parsed) &&
          parsed.length === 2 &&
          typeof parsed[0] === 'string' &&
          typeof parsed[1] === 'string'
        )
          return { value: parsed[0], id: parsed[1] };
        throw bad();
      } catch (err) {
        if (err instanceof DomainError) throw err;
        // wrong key or tampered: try the next key
      }
    }
    throw bad();
  }
}

/** A page as every list route answers it: the items under the list's own name, and `next` (null on the last page). */
export function pageOf<K extends string, T>(
  name: K,
  items: T[],
  next: string | null,
): Record<K, T[]> & { next: string | null } {
  const out = { [name]: items } as Record<K, T[]>;
  return Object.assign(out, { next });
}
