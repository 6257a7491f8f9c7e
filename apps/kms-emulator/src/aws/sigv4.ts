import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * AWS Signature Version 4 verification (AWS General Reference, "Create a signed AWS API request").
 * The emulator recomputes the signature from the request exactly as the service would, so a client that signs
 * with the wrong secret, region or service is refused the way AWS refuses it.
 */

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export type AuthParseResult = { ok: true; auth: ParsedAuthorization } | { ok: false; reason: string };

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9;._-]+)\s*,\s*Signature=([0-9a-f]{64})$/;

export function parseAuthorization(header: string | undefined): AuthParseResult {
  if (!header) return { ok: false, reason: 'Request is missing Authentication Token' };
  const m = AUTH_RE.exec(header.trim());
  if (!m) return { ok: false, reason: 'Authorization header is not a well-formed AWS4-HMAC-SHA256 header' };
  return {
    ok: true,
    auth: {
      accessKeyId: m[1],
      date: m[2],
      region: m[3],
      service: m[4],
      signedHeaders: m[5].split(';'),
      signature: m[6],
    },
  };
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalUri(path: string): string {
  // Non-S3 services normalise and encode each segment once more (double encoding of the already-encoded path).
  const segments = path.split('/').map((seg) => uriEncode(safeDecode(seg)));
  const joined = segments.map((s) => uriEncode(s)).join('/');
  return joined === '' ? '/' : joined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalQuery(search: string): string {
  if (!search) return '';
  const pairs: Array<[string, string]> = [];
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = i < 0 ? part : part.slice(0, i);
    const v = i < 0 ? '' : part.slice(i + 1);
    pairs.push([uriEncode(safeDecode(k.replace(/\+/g, '%20'))), uriEncode(safeDecode(v.replace(/\+/g, '%20')))]);
  }
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(',') : v).trim().replace(/\s+/g, ' ');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export interface SignedRequest {
  method: string;
  /** Raw request target (path + query) as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Recomputes the request signature with `secret`; constant-time comparison. Returns null when it matches. */
export function verifySignature(req: SignedRequest, auth: ParsedAuthorization, secret: string): string | null {
  const amzDate = headerValue(req.headers, 'x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate)) return 'X-Amz-Date header is missing or malformed';
  if (amzDate.slice(0, 8) !== auth.date) return 'Credential scope date does not match X-Amz-Date';
  if (!auth.signedHeaders.includes('host')) return "'Host' must be a signed header";
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const search = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalHeaders = auth.signedHeaders.map((h) => `${h}:${headerValue(req.headers, h) ?? ''}\n`).join('');
  const payloadHash = headerValue(req.headers, 'x-amz-content-sha256') ?? sha256Hex(req.body);
  const canonicalRequest = [
    req.method,
    canonicalUri(path),
    canonicalQuery(search),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const kDate = hmac(`AWS4${secret}`, auth.date);
  const kRegion = hmac(kDate, auth.region);
  const kService = hmac(kRegion, auth.service);
  const kSigning = hmac(kService, 'aws4_request');
  const expected = createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';
  }
  return null;
}

/**
 * Signature time must be within 5 minutes of the server clock (AWS General Reference, "Signature Version 4":
 * a signed request is valid for five minutes from its X-Amz-Date). The wording is AWS's own, which the SDK's
 * clock-skew correction reads alongside the response's Date header.
 */
export const MAX_SKEW_MS = 5 * 60_000;

export function checkSkew(amzDate: string | undefined, now: number): string | null {
  if (!amzDate) return null;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return 'X-Amz-Date header is malformed';
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const stamp = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}Z$/, 'Z');
  if (now - t > MAX_SKEW_MS)
    return `Signature expired: ${amzDate} is now earlier than ${stamp(now - MAX_SKEW_MS)} (${stamp(now)} - 5 min.)`;
  if (t - now > MAX_SKEW_MS)
    return `Signature not yet current: ${amzDate} is still later than ${stamp(now + MAX_SKEW_MS)} (${stamp(now)} + 5 min.)`;
  return null;
}
