import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import {
  Alg,
  assertUsableKey,
  checkAadPresence,
  decodeHeader,
  DekMaterial,
  encodeHeader,
  EnvelopeHeader,
  FORMAT_VERSION,
  flagsFor,
  SealIds,
  STREAM_PREFIX_BYTES,
  TAG_BYTES,
} from './envelope';
import { EnvelopeError } from './errors';

/**
 * Framed AES-256-GCM for payloads larger than memory. After the envelope header (alg 2) come frames:
 *
 *   flags (1: bit0 = final) ‖ length (uint32 BE, ≤ frame size) ‖ ciphertext (length) ‖ tag (16)
 *
 * Frame i is sealed with nonce = stream prefix (8, random per stream) ‖ i (uint32 BE) and additional data
 * SHA-256(header ‖ aad) ‖ i (uint32 BE) ‖ final (1 byte). Reordering, duplicating or dropping a frame changes i,
 * flipping the final flag changes the AAD, and a stream that ends without an authenticated final frame (or has
 * bytes after it) is refused: truncation is always detected.
 */
export const DEFAULT_FRAME_BYTES = 64 * 1024;
const FRAME_HEAD = 5;
const MAX_FRAMES = 0xffffffff;

function frameAad(binding: Buffer, index: number, final: boolean): Buffer {
  const a = Buffer.allocUnsafe(binding.length + 5);
  binding.copy(a, 0);
  a.writeUInt32BE(index, binding.length);
  a[binding.length + 4] = final ? 1 : 0;
  return a;
}

function frameNonce(prefix: Buffer, index: number): Buffer {
  const n = Buffer.allocUnsafe(12);
  prefix.copy(n, 0, 0, STREAM_PREFIX_BYTES);
  n.writeUInt32BE(index, STREAM_PREFIX_BYTES);
  return n;
}

function binding(header: Buffer, aad: Buffer | undefined): Buffer {
  const h = createHash('sha256').update(header);
  if (aad && aad.length) h.update(aad);
  return h.digest();
}

/** Encrypting transform. `dek` is resolved lazily (the first chunk waits for it) so creating one costs nothing. */
export class EncryptTransform extends Transform {
  private key: Buffer | undefined;
  private prefix = randomBytes(STREAM_PREFIX_BYTES);
  private bind: Buffer | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;

  constructor(
    private readonly ids: Omit<SealIds, 'tenantId'>,
    private readonly resolve: () => Promise<{ dek: DekMaterial; tenantId: string }>,
    private readonly aad: Buffer | undefined,
    private readonly frameBytes = DEFAULT_FRAME_BYTES,
  ) {
    super();
    if (!Number.isInteger(frameBytes) || frameBytes < 1 || frameBytes > 16 * 1024 * 1024)
      throw new EnvelopeError('frameBytes must be 1 B to 16 MiB', 'INVALID_ARGUMENT');
  }

  private async start(): Promise<void> {
    if (this.key) return;
    const { dek: d, tenantId } = await this.resolve();
    assertUsableKey(d.key);
    const nonce = Buffer.alloc(12);
    this.prefix.copy(nonce, 0);
    nonce.writeUInt32BE(this.frameBytes, STREAM_PREFIX_BYTES);
    const header = encodeHeader({
      version: FORMAT_VERSION,
      alg: Alg.Aes256GcmFramed,
      flags: flagsFor(this.aad),
      tenantId: tenantId.toLowerCase(),
      workspaceId: this.ids.workspaceId.toLowerCase(),
      segmentId: this.ids.segmentId,
      dekId: d.dekId,
      kekVersion: d.kekVersion,
      nonce,
    });
    this.key = d.key;
    this.bind = binding(header, this.aad);
    this.push(header);
  }

  private frame(data: Buffer, final: boolean): void {
    if (this.index >= MAX_FRAMES) throw new EnvelopeError('stream too long for one envelope', 'INVALID_ARGUMENT');
    const c = createCipheriv('aes-256-gcm', this.key!, frameNonce(this.prefix, this.index));
    c.setAAD(frameAad(this.bind!, this.index, final));
    const body = c.update(data);
    c.final();
    const head = Buffer.allocUnsafe(FRAME_HEAD);
    head[0] = final ? 1 : 0;
    head.writeUInt32BE(data.length, 1);
    this.push(head);
    this.push(body);
    this.push(c.getAuthTag());
    this.index++;
  }

  override _transform(chunk: Buffer | string, enc: BufferEncoding, cb: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk;
    this.start().then(
      () => {
        try {
          this.pending.push(buf);
          this.pendingBytes += buf.length;
          // Keep at least one byte back: the last frame must be the one marked final, which is only known at flush.
          while (this.pendingBytes > this.frameBytes) {
            const all = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
            this.frame(all.subarray(0, this.frameBytes), false);
            const rest = all.subarray(this.frameBytes);
            this.pending = [rest];
            this.pendingBytes = rest.length;
          }
          cb();
        } catch (err) {
          cb(err as Error);
        }
      },
      (err: unknown) => cb(err as Error),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.start().then(
      () => {
        try {
          this.frame(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending), true);
          this.pending = [];
          this.wipe();
          cb();
        } catch (err) {
          cb(err as Error);
        }
      },
      (err: unknown) => cb(err as Error),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.wipe();
    cb(err);
  }

  private wipe(): void {
    this.key?.fill(0);
  }
}

/**
 * Decrypting transform: parses the header, asks `resolve` for the key (which checks ids/expectations and fetches
 * the DEK), then authenticates frame by frame. Plaintext of a frame is released only after its tag verified.
 */
export class DecryptTransform extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private header: EnvelopeHeader | undefined;
  private key: Buffer | undefined;
  private bind: Buffer | undefined;
  private prefix: Buffer | undefined;
  private frameBytes = 0;
  private index = 0;
  private done = false;

  constructor(
    private readonly resolve: (h: EnvelopeHeader) => Promise<Buffer>,
    private readonly aad: Buffer | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer | string, enc: BufferEncoding, cb: TransformCallback): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk;
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    this.drain().then(
      () => cb(),
      (err: unknown) => cb(err as Error),
    );
  }

  override _flush(cb: TransformCallback): void {
    this.drain().then(
      () => {
        if (!this.header) return cb(new EnvelopeError('envelope truncated (incomplete header)'));
        if (!this.done) return cb(new EnvelopeError('stream truncated: no final frame', 'ENVELOPE_TRUNCATED'));
        this.key?.fill(0);
        cb();
      },
      (err: unknown) => cb(err as Error),
    );
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.key?.fill(0);
    cb(err);
  }

  private async drain(): Promise<void> {
    if (!this.header) {
      const r = decodeHeader(this.buf);
      if (!r) return;
      if (r.header.alg !== Alg.Aes256GcmFramed)
        throw new EnvelopeError('not a streamed envelope; use decrypt', 'ENVELOPE_UNSUPPORTED');
      checkAadPresence(r.header, this.aad);
      const headerBytes = Buffer.from(this.buf.subarray(0, r.length));
      this.buf = this.buf.subarray(r.length);
      const key = await this.resolve(r.header);
      this.header = r.header;
      this.key = Buffer.from(key);
      this.bind = binding(headerBytes, this.aad);
      this.prefix = r.header.nonce.subarray(0, STREAM_PREFIX_BYTES);
      this.frameBytes = r.header.nonce.readUInt32BE(STREAM_PREFIX_BYTES);
    }
    for (;;) {
      if (this.done) {
        if (this.buf.length) throw new EnvelopeError('data after the final frame', 'ENVELOPE_TRAILING_DATA');
        return;
      }
      if (this.buf.length < FRAME_HEAD) return;
      const flags = this.buf[0];
      if ((flags & ~1) !== 0) throw new EnvelopeError('unknown frame flags');
      const len = this.buf.readUInt32BE(1);
      if (len > this.frameBytes) throw new EnvelopeError('frame longer than the envelope frame size');
      const total = FRAME_HEAD + len + TAG_BYTES;
      if (this.buf.length < total) return;
      const final = flags === 1;
      const d = createDecipheriv('aes-256-gcm', this.key!, frameNonce(this.prefix!, this.index));
      d.setAAD(frameAad(this.bind!, this.index, final));
      d.setAuthTag(this.buf.subarray(FRAME_HEAD + len, total));
      const plain = d.update(this.buf.subarray(FRAME_HEAD, FRAME_HEAD + len));
      try {
        d.final();
      } catch {
        plain.fill(0);
        throw new EnvelopeError(
          `frame ${this.index} failed authentication (tampered, reordered, duplicated or dropped)`,
          'ENVELOPE_AUTH_FAILED',
        );
      }
      // A non-final frame is always full: a short one can only come from tampering (the tag would not verify
      // anyway, this just says so sooner and keeps frame boundaries canonical).
      if (!final && len !== this.frameBytes) throw new EnvelopeError('short non-final frame');
      this.buf = this.buf.subarray(total);
      this.index++;
      if (final) this.done = true;
      if (plain.length) this.push(plain);
    }
  }
}
