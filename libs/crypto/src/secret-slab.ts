/**
 * Fixed-size slots for small secrets (encoded DEKs), addressed by integer, carved out of large unpooled buffers.
 *
 * Why integers and not one Buffer view per slot: a view is a heap object of about a hundred bytes, several times
 * the secret it frames, and the plaintext DEK cache holds hundreds of thousands of them. A slot here costs its
 * bytes in a shared chunk and one number in its owner. Chunks come from `allocUnsafeSlow`, never from Node's
 * shared pool, so zeroing a slot wipes the only copy; a slot is zeroed when released, before it can be reused.
 */
export class SecretSlab {
  private readonly chunks: Buffer[] = [];
  private readonly free: number[] = [];
  private readonly shift: number;
  private readonly mask: number;

  constructor(
    readonly slotBytes: number,
    slotsPerChunkLog2 = 9,
  ) {
    if (!Number.isSafeInteger(slotBytes) || slotBytes < 1) throw new Error('slotBytes must be a positive integer');
    if (!Number.isInteger(slotsPerChunkLog2) || slotsPerChunkLog2 < 0 || slotsPerChunkLog2 > 16)
      throw new Error('slotsPerChunkLog2 must be 0..16');
    this.shift = slotsPerChunkLog2;
    this.mask = (1 << slotsPerChunkLog2) - 1;
  }

  /** A zeroed slot. */
  alloc(): number {
    if (this.free.length === 0) this.grow();
    return this.free.pop()!;
  }

  /** The chunk holding `slot`; its bytes are at [offset(slot), offset(slot) + slotBytes). */
  chunk(slot: number): Buffer {
    return this.chunks[slot >>> this.shift];
  }

  offset(slot: number): number {
    return (slot & this.mask) * this.slotBytes;
  }

  /** Zeroes the slot and makes it available again. The caller must drop every reference to the number. */
  release(slot: number): void {
    const off = this.offset(slot);
    this.chunk(slot).fill(0, off, off + this.slotBytes);
    this.free.push(slot);
  }

  /** Slots handed out and not yet released. */
  get inUse(): number {
    return (this.chunks.length << this.shift) - this.free.length;
  }

  /** Memory held by the chunks (the slab never shrinks; released slots are zero). */
  get allocatedBytes(): number {
    return (this.chunks.length << this.shift) * this.slotBytes;
  }

  /**
   * Whether `needle` occurs anywhere in the slab's memory, live or released slots alike (test-only inspection:
   * proves a purged secret left no bytes behind).
   */
  contains(needle: Buffer): boolean {
    if (needle.length === 0) return false;
    for (const c of this.chunks) if (c.indexOf(needle) !== -1) return true;
    return false;
  }

  /** Zeroes every slot (shutdown). */
  wipe(): void {
    for (const c of this.chunks) c.fill(0);
  }

  private grow(): void {
    const perChunk = 1 << this.shift;
    const chunk = Buffer.allocUnsafeSlow(perChunk * this.slotBytes);
    chunk.fill(0);
    const base = this.chunks.length << this.shift;
    this.chunks.push(chunk);
    for (let i = perChunk - 1; i >= 0; i--) this.free.push(base + i);
  }
}
