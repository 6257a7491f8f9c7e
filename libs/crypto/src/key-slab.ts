import { inspect } from 'node:util';
import { KEY_BYTES } from './kek';

/**
 * Fixed-size 256-bit key slots carved out of large unpooled buffers ("chunks").
 *
 * Why: a cache of thousands of KEKs as one `Buffer.allocUnsafeSlow(32)` each pays an ArrayBuffer, a backing store
 * and a malloc per key (several hundred bytes for 32 bytes of key). Here a key costs its 32 bytes in a shared chunk
 * plus one small view object. Chunks come from `allocUnsafeSlow`, never from Node's shared pool, so zeroing a slot
 * wipes the only copy of that key; a freed slot is zeroed before it can be handed out again.
 */
export class KeySlab {
  private readonly chunks: Buffer[] = [];
  /** Zeroed 32-byte views of free slots. */
  private readonly free: Buffer[] = [];

  constructor(private readonly slotsPerChunk = 256) {
    if (!Number.isSafeInteger(slotsPerChunk) || slotsPerChunk < 1)
      throw new Error('slotsPerChunk must be a positive integer');
  }

  /** Copies `source` (32 bytes) into a free slot; the caller remains responsible for zeroing `source`. */
  copyOf(source: Buffer): SlabKey {
    if (!Buffer.isBuffer(source) || source.length !== KEY_BYTES)
      throw new Error(`a slab key must be ${KEY_BYTES} bytes`);
    let view = this.free.pop();
    if (!view) {
      this.grow();
      view = this.free.pop()!;
    }
    source.copy(view);
    // A new handle per key (never reused): a holder of a zeroed handle can never observe the slot's next key.
    return new SlabKey(this, view);
  }

  /** Slots handed out and not yet released (tests, metrics). */
  get inUse(): number {
    return this.chunks.length * this.slotsPerChunk - this.free.length;
  }

  /** Zeroes every slot (shutdown). Keys still held by callers read as zeroed. */
  wipe(): void {
    for (const c of this.chunks) c.fill(0);
  }

  /** @internal called by SlabKey.zero(), after the view was wiped */
  release(view: Buffer): void {
    this.free.push(view);
  }

  private grow(): void {
    const chunk = Buffer.allocUnsafeSlow(this.slotsPerChunk * KEY_BYTES);
    chunk.fill(0);
    this.chunks.push(chunk);
    // Pushed in reverse so slots are handed out in address order (not required, just tidy for debugging).
    for (let i = this.slotsPerChunk - 1; i >= 0; i--)
      this.free.push(chunk.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
  }
}

/**
 * A key held in one slot of a KeySlab. After `zero()` the handle is dead for good (the slot goes back to the slab
 * and a later key gets a new handle). Never serialisable: JSON and util.inspect print a redaction marker.
 */
export class SlabKey {
  private live = true;

  /** @internal use KeySlab.copyOf */
  constructor(
    private readonly slab: KeySlab,
    private readonly view: Buffer,
  ) {}

  get zeroed(): boolean {
    return !this.live;
  }

  /** The raw bytes for a synchronous crypto call. Precondition: not zeroed. */
  bytes(): Buffer {
    if (!this.live) throw new Error('secret key used after it was zeroed');
    return this.view;
  }

  /** Wipes the slot and returns it to the slab. Idempotent. */
  zero(): void {
    if (!this.live) return;
    this.view.fill(0);
    this.live = false;
    this.slab.release(this.view);
  }

  toJSON(): string {
    return '[SlabKey redacted]';
  }

  toString(): string {
    return '[SlabKey redacted]';
  }

  [inspect.custom](): string {
    return `SlabKey(${KEY_BYTES} bytes, redacted)`;
  }
}
