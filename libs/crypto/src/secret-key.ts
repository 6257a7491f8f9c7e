import { inspect } from 'node:util';

/**
 * Plaintext key material in a buffer that is not from Node's shared pool (so zeroing it wipes the only copy),
 * zeroed by `zero()`, and never serialisable: JSON and util.inspect print a redaction marker, so a stray log
 * line or error object cannot carry the bytes. (JS strings cannot be wiped: keys become base64 only at the
 * response edge.)
 */
export class SecretKey {
  #bytes: Buffer;
  #zeroed = false;

  private constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  /** Copies `source` into an unpooled buffer; the caller remains responsible for zeroing `source`. */
  static copyOf(source: Buffer): SecretKey {
    const b = Buffer.allocUnsafeSlow(source.length);
    source.copy(b);
    return new SecretKey(b);
  }

  /** Takes ownership of `bytes` (must be unpooled, e.g. from allocUnsafeSlow); they are zeroed with this key. */
  static adopt(bytes: Buffer): SecretKey {
    return new SecretKey(bytes);
  }

  get length(): number {
    return this.#bytes.length;
  }

  get zeroed(): boolean {
    return this.#zeroed;
  }

  /** The raw bytes, for a synchronous crypto call. Precondition: not zeroed. */
  bytes(): Buffer {
    if (this.#zeroed) throw new Error('secret key used after it was zeroed');
    return this.#bytes;
  }

  zero(): void {
    this.#bytes.fill(0);
    this.#zeroed = true;
  }

  toJSON(): string {
    return '[SecretKey redacted]';
  }

  toString(): string {
    return '[SecretKey redacted]';
  }

  [inspect.custom](): string {
    return `SecretKey(${this.#bytes.length} bytes, redacted)`;
  }
}
