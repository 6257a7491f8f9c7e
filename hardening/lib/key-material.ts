/**
 * Every plaintext DEK the suite was handed over the API, and a scanner that looks for any of them in arbitrary
 * text: hex (any case), base64 and base64url, at any byte offset inside longer encoded blobs (a DEK embedded in a
 * bigger buffer, e.g. "wrapped" bytes that are in fact plaintext, is still found).
 *
 * How: every hex run of ≥ 64 chars and every base64/base64url run of ≥ 43 chars is decoded to bytes (at each of
 * the possible alignments), so is every run of ≥ 32 comma-separated decimal bytes (an inspected Uint8Array or
 * Buffer.toJSON()), and every 32-byte window of those bytes is looked up in a set. Linear in the text.
 */
export class KeyMaterialLedger {
  private readonly keys = new Set<string>();

  /** Record a base64 DEK as returned by the API. Ignores anything that is not 32 bytes. */
  recordBase64(b64: unknown): void {
    if (typeof b64 !== 'string') return;
    const buf = Buffer.from(b64, 'base64');
    if (buf.length === 32) this.keys.add(buf.toString('hex'));
  }

  recordBytes(buf: Buffer): void {
    if (buf.length === 32) this.keys.add(Buffer.from(buf).toString('hex'));
  }

  get size(): number {
    return this.keys.size;
  }

  has(hex: string): boolean {
    return this.keys.has(hex.toLowerCase());
  }

  /** Number of distinct recorded keys found in `text` (0 is the goal). */
  scan(text: string): { hits: number; forms: string[] } {
    if (this.keys.size === 0 || !text) return { hits: 0, forms: [] };
    const found = new Set<string>();
    const forms = new Set<string>();
    const look = (bytes: Buffer, form: string) => {
      for (let i = 0; i + 32 <= bytes.length; i++) {
        const h = bytes.subarray(i, i + 32).toString('hex');
        if (this.keys.has(h)) {
          found.add(h);
          forms.add(form);
        }
      }
    };
    for (const m of text.matchAll(/[0-9a-fA-F]{64,}/g)) {
      const run = m[0];
      // both nibble alignments
      look(Buffer.from(run.length % 2 ? run.slice(0, -1) : run, 'hex'), 'hex');
      look(Buffer.from(run.slice(1, run.length - ((run.length - 1) % 2)), 'hex'), 'hex');
    }
    for (const m of text.matchAll(/[A-Za-z0-9+/_-]{43,}={0,2}/g)) {
      const run = m[0].replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
      // a key inside a longer base64 string can start at any of 4 character offsets
      for (let off = 0; off < 4; off++) look(Buffer.from(run.slice(off), 'base64'), 'base64');
    }
    // util.inspect / JSON of a Uint8Array or Buffer.toJSON(): "80, 232, 61, …" (decimal bytes)
    for (const m of text.matchAll(/\b\d{1,3}(?:\s*,\s*\d{1,3}){31,}/g)) {
      const nums = m[0].split(',').map((x) => Number(x.trim()));
      if (nums.every((n) => n <= 255)) look(Buffer.from(nums), 'decimal bytes');
    }
    return { hits: found.size, forms: [...forms] };
  }

  /** Raw bytes (e.g. a Redis value, a bytea column read as Buffer). */
  scanBytes(bytes: Buffer): number {
    let hits = 0;
    for (let i = 0; i + 32 <= bytes.length; i++) if (this.keys.has(bytes.subarray(i, i + 32).toString('hex'))) hits++;
    return hits + this.scan(bytes.toString('latin1')).hits;
  }
}
