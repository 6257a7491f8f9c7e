import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Alg, decodeHeader, DekMaterial, EnvelopeHeader, MAGIC, open, readHeader, seal, sealParts } from './envelope';
import { EnvelopeError } from './errors';
import { DecryptTransform, EncryptTransform } from './stream';

const ids = { tenantId: randomUUID(), workspaceId: randomUUID(), segmentId: 'orders/2026-12' };
const dek: DekMaterial = { key: randomBytes(32), dekId: randomUUID(), kekVersion: 7 };
const aad = Buffer.from('record-42');

/** What the client does on decrypt, minus the network: parse, check the expectation, look up the key by id. */
function openWith(blob: Buffer, opts: { aad?: Buffer; expect?: Partial<typeof ids> } = {}): Buffer {
  const { header, length } = readHeader(blob);
  if (opts.expect?.workspaceId && opts.expect.workspaceId !== header.workspaceId)
    throw new EnvelopeError('mismatch', 'ENVELOPE_MISMATCH');
  if (opts.expect?.segmentId && opts.expect.segmentId !== header.segmentId)
    throw new EnvelopeError('mismatch', 'ENVELOPE_MISMATCH');
  if (header.dekId !== dek.dekId) throw new EnvelopeError('other dek', 'ENVELOPE_DEK_MISMATCH');
  return open(blob, header, length, dek.key, opts.aad);
}

describe('one-shot envelope', () => {
  const plaintext = Buffer.from('the customer data, which only their key may open');
  const blob = seal(ids, dek, plaintext, aad);
  const { header, length } = readHeader(blob);

  it('round-trips and describes itself', () => {
    expect(openWith(blob, { aad })).toEqual(plaintext);
    expect(header).toMatchObject({ version: 1, alg: Alg.Aes256Gcm, flags: 1, ...ids, dekId: dek.dekId, kekVersion: 7 });
    expect(length).toBe(41 + ids.segmentId.length + 32);
    expect(blob.length).toBe(length + plaintext.length + 16);
    expect(blob.subarray(0, 4)).toEqual(MAGIC);
  });

  it('seals every size whole, from empty to over 1 MiB', () => {
    for (const n of [0, 1, 16_383, 16_384, 16_385, 3 * 16_384, (1 << 20) + 3]) {
      const p = randomBytes(n);
      const b = seal(ids, dek, p, aad);
      expect(b.length).toBe(length + n + 16);
      expect(openWith(b, { aad })).toEqual(p);
      expect(() => openWith(b.subarray(0, b.length - 1), { aad })).toThrow(EnvelopeError);
    }
  });

  it('as parts: header, ciphertext and tag that, joined, are an envelope like any other (same checks)', () => {
    for (const n of [0, 100, (1 << 20) + 3]) {
      const p = randomBytes(n);
      const parts = sealParts(ids, dek, p, aad);
      expect(parts.body.length).toBe(n);
      expect(parts.tag.length).toBe(16);
      const joined = Buffer.concat([parts.header, parts.body, parts.tag]);
      expect(readHeader(joined)).toEqual({
        header: expect.objectContaining({ ...ids, dekId: dek.dekId, kekVersion: 7, flags: 1 }),
        length,
      });
      expect(openWith(joined, { aad })).toEqual(p);
      expect(() => openWith(joined)).toThrow(EnvelopeError);
      const flipped = Buffer.from(joined);
      flipped[joined.length - 17] ^= 1;
      expect(() => openWith(flipped, { aad })).toThrow(EnvelopeError);
    }
    expect(() => sealParts(ids, { ...dek, key: Buffer.alloc(32) }, plaintext)).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY' }),
    );
  });

  it('uses a fresh nonce each time', () => {
    expect(readHeader(seal(ids, dek, plaintext, aad)).header.nonce).not.toEqual(header.nonce);
  });

  it('rejects a single bit flip anywhere: every header byte, the body and the tag', () => {
    let rejected = 0;
    for (let i = 0; i < blob.length; i++)
      for (const bit of [0, 7]) {
        const t = Buffer.from(blob);
        t[i] ^= 1 << bit;
        expect(() => openWith(t, { aad })).toThrow(EnvelopeError);
        rejected++;
      }
    expect(rejected).toBe(blob.length * 2);
  });

  it('rejects the wrong or a missing aad, and aad where none was sealed', () => {
    expect(() => openWith(blob, { aad: Buffer.from('record-43') })).toThrow(/authentication failed/);
    expect(() => openWith(blob)).toThrow(/authentication failed/);
    const noAad = seal(ids, dek, plaintext);
    expect(() => openWith(noAad, { aad })).toThrow(/authentication failed/);
  });

  it('rejects a header re-pointed to another workspace or segment (same key: only the AAD binding can catch it)', () => {
    const other = { ...ids, workspaceId: randomUUID() };
    const h2 = readHeader(seal(other, dek, plaintext, aad));
    // Splice: a header naming another workspace/segment in front of this body and tag.
    for (const hdr of [h2, readHeader(seal({ ...ids, segmentId: 'orders/2026-11' }, dek, plaintext, aad))]) {
      const forged = Buffer.concat([seal(other, dek, plaintext, aad).subarray(0, 0), blobWithHeader(hdr.header)]);
      expect(() => openWith(forged, { aad })).toThrow(/authentication failed/);
    }
    // And the caller's expectation refuses a genuine envelope of another workspace before any key is used.
    expect(() => openWith(seal(other, dek, plaintext, aad), { aad, expect: { workspaceId: ids.workspaceId } })).toThrow(
      /mismatch/,
    );
  });

  it('rejects truncation at every length and trailing bytes', () => {
    for (let n = 0; n < blob.length; n += 3)
      expect(() => openWith(blob.subarray(0, n), { aad })).toThrow(EnvelopeError);
    expect(() => openWith(Buffer.concat([blob, Buffer.from([0])]), { aad })).toThrow(EnvelopeError);
  });

  it('refuses unknown versions, algorithms and flags with a stable code', () => {
    for (const [i, v, code] of [
      [4, 2, 'ENVELOPE_UNSUPPORTED'],
      [5, 9, 'ENVELOPE_UNSUPPORTED'],
      [6, 0x80, 'ENVELOPE_UNSUPPORTED'],
      [0, 0x00, 'ENVELOPE_INVALID'],
    ] as const) {
      const t = Buffer.from(blob);
      t[i] = v;
      expect(() => decodeHeader(t)).toThrow(expect.objectContaining({ code }));
    }
  });

  function blobWithHeader(h: EnvelopeHeader): Buffer {
    const hdr = readHeader(
      seal({ tenantId: h.tenantId, workspaceId: h.workspaceId, segmentId: h.segmentId }, dek, plaintext, aad),
    );
    const own = seal(hdr.header, dek, plaintext, aad);
    // own header, original body+tag
    return Buffer.concat([own.subarray(0, hdr.length), blob.subarray(length)]);
  }
});

async function encryptStream(
  data: Buffer,
  frameBytes: number,
  chunk = 7_000,
  streamAad: Buffer | undefined = aad,
): Promise<Buffer> {
  const out: Buffer[] = [];
  const enc = new EncryptTransform(
    { workspaceId: ids.workspaceId, segmentId: ids.segmentId },
    async () => ({ tenantId: ids.tenantId, dek: { ...dek, key: Buffer.from(dek.key) } }),
    streamAad,
    frameBytes,
  );
  enc.on('data', (b: Buffer) => out.push(b));
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) chunks.push(data.subarray(i, i + chunk));
  await pipeline(Readable.from(chunks), enc);
  return Buffer.concat(out);
}

async function decryptStream(blob: Buffer, streamAad: Buffer | null = aad, chunk = 5_000): Promise<Buffer> {
  const out: Buffer[] = [];
  const dec = new DecryptTransform(async (h) => {
    if (h.dekId !== dek.dekId) throw new EnvelopeError('other dek', 'ENVELOPE_DEK_MISMATCH');
    return dek.key;
  }, streamAad ?? undefined);
  dec.on('data', (b: Buffer) => out.push(b));
  const chunks: Buffer[] = [];
  for (let i = 0; i < blob.length; i += chunk) chunks.push(blob.subarray(i, i + chunk));
  await pipeline(Readable.from(chunks.length ? chunks : [Buffer.alloc(0)]), dec);
  return Buffer.concat(out);
}

/** Splits a framed envelope into header and frames (the test's own parser of the documented format). */
function frames(blob: Buffer): { head: Buffer; frames: Buffer[] } {
  const { length } = readHeader(blob);
  const list: Buffer[] = [];
  let o = length;
  while (o < blob.length) {
    const len = blob.readUInt32BE(o + 1);
    list.push(blob.subarray(o, o + 5 + len + 16));
    o += 5 + len + 16;
  }
  return { head: blob.subarray(0, length), frames: list };
}

describe('streamed envelope', () => {
  const FRAME = 1024;
  const data = randomBytes(FRAME * 4 + 100);
  let blob: Buffer;
  beforeAll(async () => {
    blob = await encryptStream(data, FRAME);
  });

  it('round-trips any size, including empty and exact multiples of the frame', async () => {
    expect(await decryptStream(blob)).toEqual(data);
    for (const n of [0, 1, FRAME - 1, FRAME, FRAME + 1, FRAME * 3]) {
      const d = randomBytes(n);
      const b = await encryptStream(d, FRAME, 333);
      expect(await decryptStream(b, aad, 17)).toEqual(d);
      const f = frames(b).frames;
      expect(f[f.length - 1][0]).toBe(1);
      expect(f.slice(0, -1).every((x) => x[0] === 0)).toBe(true);
    }
    const { header } = readHeader(blob);
    expect(header.alg).toBe(Alg.Aes256GcmFramed);
    expect(header.nonce.readUInt32BE(8)).toBe(FRAME);
    expect(frames(blob).frames).toHaveLength(5);
  });

  const rejects = async (b: Buffer, pattern: RegExp = /./) => {
    await expect(decryptStream(b)).rejects.toThrow(EnvelopeError);
    await expect(decryptStream(b)).rejects.toThrow(pattern);
  };

  it('rejects a bit flip in every header byte, and in each frame (flags, length, body, tag)', async () => {
    const { head, frames: f } = frames(blob);
    for (let i = 0; i < head.length; i++) {
      const t = Buffer.from(blob);
      t[i] ^= 0x01;
      await rejects(t);
    }
    let o = head.length;
    for (const fr of f) {
      for (const at of [0, 1, 4, 5, 5 + 10, fr.length - 1]) {
        const t = Buffer.from(blob);
        t[o + at] ^= 0x01;
        await rejects(t);
      }
      o += fr.length;
    }
  });

  it('rejects reordered, duplicated and dropped frames', async () => {
    const { head, frames: f } = frames(blob);
    await rejects(Buffer.concat([head, f[1], f[0], ...f.slice(2)]), /frame 0 failed/);
    await rejects(Buffer.concat([head, f[0], f[0], ...f.slice(1)]), /frame 1 failed/);
    await rejects(Buffer.concat([head, f[0], ...f.slice(2)]), /frame 1 failed/);
    await rejects(Buffer.concat([head, ...f.slice(0, 3), f[4], f[3]]), /failed/);
  });

  it('rejects truncation: a missing final frame, a cut inside a frame, a cut inside the header', async () => {
    const { head, frames: f } = frames(blob);
    await rejects(Buffer.concat([head, ...f.slice(0, -1)]), /no final frame/);
    await rejects(blob.subarray(0, blob.length - 3), /no final frame/);
    await rejects(head.subarray(0, head.length - 1), /truncated/);
    await rejects(Buffer.concat([head]), /no final frame/);
  });

  it('rejects a non-final frame re-flagged as final (truncation disguised) and data after the final frame', async () => {
    const { head, frames: f } = frames(blob);
    const early = Buffer.from(f[1]);
    early[0] = 1;
    await rejects(Buffer.concat([head, f[0], early]), /frame 1 failed/);
    await rejects(Buffer.concat([blob, f[0]]), /after the final frame/);
  });

  it('rejects frames spliced from another stream of the same key and the same ids', async () => {
    const other = await encryptStream(data, FRAME);
    const a = frames(blob);
    const b = frames(other);
    await rejects(Buffer.concat([a.head, a.frames[0], b.frames[1], ...a.frames.slice(2)]), /frame 1 failed/);
  });

  it('rejects a stream sealed for another workspace or segment when the header is swapped', async () => {
    const { frames: f } = frames(blob);
    const enc2 = await (async () => {
      const out: Buffer[] = [];
      const e = new EncryptTransform(
        { workspaceId: randomUUID(), segmentId: 'other' },
        async () => ({ tenantId: ids.tenantId, dek: { ...dek, key: Buffer.from(dek.key) } }),
        aad,
        FRAME,
      );
      e.on('data', (b: Buffer) => out.push(b));
      await pipeline(Readable.from([data]), e);
      return Buffer.concat(out);
    })();
    await rejects(Buffer.concat([frames(enc2).head, ...f]), /frame 0 failed/);
  });

  it('rejects the wrong aad', async () => {
    await expect(decryptStream(blob, Buffer.from('other'))).rejects.toThrow(/frame 0 failed/);
    await expect(decryptStream(blob, null)).rejects.toThrow(/pass the same aad/);
  });

  it('refuses to encrypt under a wiped key', async () => {
    const e = new EncryptTransform(
      ids,
      async () => ({ tenantId: ids.tenantId, dek: { ...dek, key: Buffer.alloc(32) } }),
      undefined,
      FRAME,
    );
    await expect(pipeline(Readable.from([Buffer.from('x')]), e)).rejects.toThrow(/wiped/);
    expect(() => seal(ids, { ...dek, key: Buffer.alloc(32) }, Buffer.from('x'))).toThrow(/wiped/);
  });
});
