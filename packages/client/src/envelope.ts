import { createCipheriv, createDecipheriv, randomBytes, type CipherGCM } from 'node:crypto';
import { EnvelopeError } from './errors';

/**
 * The envelope header (docs/ENVELOPE.md has the byte-by-byte table). Everything a reader needs to find the key is
 * in it, and all of it is authenticated: the header bytes are the first part of the GCM additional data, followed
 * by the caller's own AAD, so changing any id, version, flag or nonce fails the tag check.
 */
export const MAGIC = Buffer.from('KHEV', 'ascii');
export const FORMAT_VERSION = 1;
export enum Alg {
  /** One AES-256-GCM message: body = ciphertext ‖ 16-byte tag. */
  Aes256Gcm = 1,
  /** AES-256-GCM in framed chunks (streaming). */
  Aes256GcmFramed = 2,
}
export const FLAG_CALLER_AAD = 0x01;
const KNOWN_FLAGS = FLAG_CALLER_AAD;
export const TAG_BYTES = 16;
export const NONCE_BYTES = 12;
export const STREAM_PREFIX_BYTES = 8;
export const MAX_SEGMENT_ID_BYTES = 256;
/** Fixed part before the segment id: magic 4, version 1, alg 1, flags 1, tenant 16, workspace 16, segment length 2. */
const FIXED_HEAD = 41;
/** Fixed part after the segment id: DEK id 16, KEK version 4, nonce/stream parameters 12. */
const FIXED_TAIL = 32;

export interface EnvelopeHeader {
  readonly version: number;
  readonly alg: Alg;
  readonly flags: number;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly segmentId: string;
  readonly dekId: string;
  readonly kekVersion: number;
  /** Alg 1: the GCM nonce (12 bytes). Alg 2: stream prefix (8 bytes) ‖ frame size (uint32 BE). */
  readonly nonce: Buffer;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEGMENT_RE = /^[\x21-\x7e]+$/;

function uuidBytes(id: string, what: string): Buffer {
  if (!UUID_RE.test(id)) throw new EnvelopeError(`${what} is not a UUID`, 'INVALID_ARGUMENT');
  return Buffer.from(id.replace(/-/g, ''), 'hex');
}

function uuidString(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function assertSegmentId(segmentId: string): void {
  if (
    typeof segmentId !== 'string' ||
    segmentId.length === 0 ||
    segmentId.length > MAX_SEGMENT_ID_BYTES ||
    !SEGMENT_RE.test(segmentId)
  )
    throw new EnvelopeError('segmentId must be 1-256 printable ASCII characters without spaces', 'INVALID_ARGUMENT');
}

export function encodeHeader(h: EnvelopeHeader): Buffer {
  assertSegmentId(h.segmentId);
  if (!Number.isInteger(h.kekVersion) || h.kekVersion < 0 || h.kekVersion > 0xffffffff)
    throw new EnvelopeError('kekVersion out of range', 'INVALID_ARGUMENT');
  if (h.nonce.length !== NONCE_BYTES) throw new EnvelopeError('nonce must be 12 bytes', 'INVALID_ARGUMENT');
  const seg = Buffer.from(h.segmentId, 'ascii');
  const out = Buffer.alloc(FIXED_HEAD + seg.length + FIXED_TAIL);
  MAGIC.copy(out, 0);
  out[4] = h.version;
  out[5] = h.alg;
  out[6] = h.flags;
  uuidBytes(h.tenantId, 'tenantId').copy(out, 7);
  uuidBytes(h.workspaceId, 'workspaceId').copy(out, 23);
  out.writeUInt16BE(seg.length, 39);
  seg.copy(out, 41);
  let o = 41 + seg.length;
  uuidBytes(h.dekId, 'dekId').copy(out, o);
  o += 16;
  out.writeUInt32BE(h.kekVersion, o);
  o += 4;
  h.nonce.copy(out, o);
  return out;
}

/**
 * Parses a header from the start of `buf`. Returns undefined when more bytes are needed (streaming), throws
 * `EnvelopeError` when the bytes can never be a valid header. Anything unknown (version, algorithm, flag bits)
 * is refused rather than guessed at.
 */
export function decodeHeader(buf: Buffer): { header: EnvelopeHeader; length: number } | undefined {
  if (buf.length < 7) {
    if (!MAGIC.subarray(0, Math.min(buf.length, 4)).equals(buf.subarray(0, Math.min(buf.length, 4))))
      throw new EnvelopeError('not a Keyhold envelope (bad magic)');
    return undefined;
  }
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new EnvelopeError('not a Keyhold envelope (bad magic)');
  if (buf[4] !== FORMAT_VERSION)
    throw new EnvelopeError(`unsupported envelope format version ${buf[4]}`, 'ENVELOPE_UNSUPPORTED');
  const alg = buf[5];
  if (alg !== Alg.Aes256Gcm && alg !== Alg.Aes256GcmFramed)
    throw new EnvelopeError(`unsupported envelope algorithm ${alg}`, 'ENVELOPE_UNSUPPORTED');
  const flags = buf[6];
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new EnvelopeError('unknown envelope flags', 'ENVELOPE_UNSUPPORTED');
  if (buf.length < FIXED_HEAD) return undefined;
  const segLen = buf.readUInt16BE(39);
  if (segLen === 0 || segLen > MAX_SEGMENT_ID_BYTES) throw new EnvelopeError('envelope segment id length out of range');
  const length = FIXED_HEAD + segLen + FIXED_TAIL;
  if (buf.length < length) return undefined;
  const segmentId = buf.toString('latin1', 41, 41 + segLen);
  if (!SEGMENT_RE.test(segmentId)) throw new EnvelopeError('envelope segment id is not printable ASCII');
  let o = 41 + segLen;
  const header: EnvelopeHeader = {
    version: buf[4],
    alg,
    flags,
    tenantId: uuidString(buf.subarray(7, 23)),
    workspaceId: uuidString(buf.subarray(23, 39)),
    segmentId,
    dekId: uuidString(buf.subarray(o, o + 16)),
    kekVersion: buf.readUInt32BE(o + 16),
    nonce: Buffer.from(buf.subarray(o + 20, o + 32)),
  };
  o += 32;
  if (alg === Alg.Aes256GcmFramed) {
    const frameSize = header.nonce.readUInt32BE(STREAM_PREFIX_BYTES);
    if (frameSize < 1 || frameSize > MAX_FRAME_BYTES) throw new EnvelopeError('envelope frame size out of range');
  }
  return { header, length: o };
}

export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** What the reader expects the envelope to be bound to; a mismatch is refused before any key is fetched. */
export interface EnvelopeExpectation {
  tenantId?: string;
  workspaceId?: string;
  segmentId?: string;
}

export function checkExpectation(h: EnvelopeHeader, expect: EnvelopeExpectation | undefined): void {
  if (!expect) return;
  if (expect.tenantId !== undefined && expect.tenantId.toLowerCase() !== h.tenantId)
    throw new EnvelopeError('envelope belongs to another tenant', 'ENVELOPE_MISMATCH');
  if (expect.workspaceId !== undefined && expect.workspaceId.toLowerCase() !== h.workspaceId)
    throw new EnvelopeError('envelope belongs to another workspace', 'ENVELOPE_MISMATCH');
  if (expect.segmentId !== undefined && expect.segmentId !== h.segmentId)
    throw new EnvelopeError('envelope belongs to another segment', 'ENVELOPE_MISMATCH');
}

export function flagsFor(aad: Buffer | undefined): number {
  return aad && aad.length > 0 ? FLAG_CALLER_AAD : 0;
}

export function checkAadPresence(h: EnvelopeHeader, aad: Buffer | undefined): void {
  const has = !!aad && aad.length > 0;
  if ((h.flags & FLAG_CALLER_AAD) !== 0 && !has)
    throw new EnvelopeError(
      'this envelope was sealed with additional data; pass the same aad to decrypt',
      'ENVELOPE_AAD_REQUIRED',
    );
  if ((h.flags & FLAG_CALLER_AAD) === 0 && has)
    throw new EnvelopeError('this envelope was sealed without additional data', 'ENVELOPE_AAD_MISMATCH');
}

/** Key material for one envelope: the DEK and the identifiers the server reported with it. */
export interface DekMaterial {
  readonly key: Buffer;
  readonly dekId: string;
  readonly kekVersion: number;
}

export interface SealIds {
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly segmentId: string;
}

/**
 * A wiped (all-zero) or malformed key must never encrypt anything: a cache bug would otherwise turn into data
 * sealed under a publicly known key. Costs one 32-byte scan.
 */
export function assertUsableKey(key: Buffer): void {
  if (key.length !== 32) throw new EnvelopeError('a DEK must be 32 bytes', 'INVALID_KEY');
  let or = 0;
  for (let i = 0; i < 32; i++) or |= key[i];
  if (or === 0) throw new EnvelopeError('refusing to use a wiped DEK', 'INVALID_KEY');
}

/**
 * A one-shot envelope as its three parts, in order: `Buffer.concat([header, body, tag])` is byte for byte what
 * `seal` returns. For callers that write the envelope out (a socket, a file, a database driver taking several
 * buffers): the ciphertext is the buffer the cipher produced, never copied.
 */
export interface EnvelopeParts {
  readonly header: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
}

function startSeal(ids: SealIds, dek: DekMaterial, aad: Buffer | undefined): { header: Buffer; cipher: CipherGCM } {
  assertUsableKey(dek.key);
  const nonce = randomBytes(NONCE_BYTES);
  const header = encodeHeader({
    version: FORMAT_VERSION,
    alg: Alg.Aes256Gcm,
    flags: flagsFor(aad),
    tenantId: ids.tenantId.toLowerCase(),
    workspaceId: ids.workspaceId.toLowerCase(),
    segmentId: ids.segmentId,
    dekId: dek.dekId,
    kekVersion: dek.kekVersion,
    nonce,
  });
  const cipher = createCipheriv('aes-256-gcm', dek.key, nonce);
  cipher.setAAD(header);
  if (aad && aad.length) cipher.setAAD(aad);
  return { header, cipher };
}

/** One-shot AES-256-GCM as parts (see EnvelopeParts): header, ciphertext, tag; header ‖ aad is the additional data. */
export function sealParts(ids: SealIds, dek: DekMaterial, plaintext: Buffer, aad?: Buffer): EnvelopeParts {
  const { header, cipher } = startSeal(ids, dek, aad);
  const body = cipher.update(plaintext);
  const fin = cipher.final(); // GCM is a stream mode: always empty, joined anyway should that ever change
  return { header, body: fin.length ? Buffer.concat([body, fin]) : body, tag: cipher.getAuthTag() };
}

/**
 * One-shot AES-256-GCM: header ‖ ciphertext ‖ tag in one Buffer, with header ‖ aad as the additional data. Node 20's
 * `cipher.update` cannot write into a caller's buffer, so joining costs one more buffer and a copy of the ciphertext
 * (`sealParts` avoids both).
 */
export function seal(ids: SealIds, dek: DekMaterial, plaintext: Buffer, aad?: Buffer): Buffer {
  const { header, body, tag } = sealParts(ids, dek, plaintext, aad);
  const out = Buffer.allocUnsafe(header.length + body.length + TAG_BYTES);
  header.copy(out, 0);
  body.copy(out, header.length);
  tag.copy(out, header.length + body.length);
  return out;
}

/** Opens a one-shot envelope whose header was already parsed (and whose DEK id was already checked). */
export function open(blob: Buffer, header: EnvelopeHeader, headerLength: number, key: Buffer, aad?: Buffer): Buffer {
  if (header.alg !== Alg.Aes256Gcm)
    throw new EnvelopeError('this is a streamed envelope; use decryptStream', 'ENVELOPE_UNSUPPORTED');
  if (blob.length < headerLength + TAG_BYTES) throw new EnvelopeError('envelope truncated');
  const d = createDecipheriv('aes-256-gcm', key, header.nonce);
  d.setAAD(blob.subarray(0, headerLength));
  if (aad && aad.length) d.setAAD(aad);
  d.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  const body = d.update(blob.subarray(headerLength, blob.length - TAG_BYTES));
  try {
    const fin = d.final();
    return fin.length ? Buffer.concat([body, fin]) : body;
  } catch {
    body.fill(0);
    throw new EnvelopeError(
      'envelope authentication failed (tampered, wrong key or wrong aad)',
      'ENVELOPE_AUTH_FAILED',
    );
  }
}

/** Reads the header of a complete envelope (refusing partial ones). */
export function readHeader(blob: Buffer): { header: EnvelopeHeader; length: number } {
  if (!Buffer.isBuffer(blob)) throw new EnvelopeError('envelope must be a Buffer', 'INVALID_ARGUMENT');
  const r = decodeHeader(blob);
  if (!r) throw new EnvelopeError('envelope truncated');
  return r;
}
