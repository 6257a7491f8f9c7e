import fc from 'fast-check';

/**
 * Hostile inputs for the fuzzer: the classic families (oversized, wrong types, unicode tricks, SQL/JSON injection,
 * prototype-pollution keys, malformed base64, ARNs, URLs and resource names) as fixed corpora, mixed with
 * fast-check's generated strings and JSON values so every run also tries things nobody thought of.
 */
export const SQL_INJECTION = [
  "' OR '1'='1",
  "'; DROP TABLE tenants; --",
  '1; SELECT pg_sleep(5)--',
  "' UNION SELECT password_hash FROM admin_users--",
  '"; DELETE FROM workspaces; --',
  '$$; TRUNCATE deks; $$',
  '\\x27 OR 1=1',
  "00000000-0000-0000-0000-000000000000' OR 'x'='x",
];

export const JSON_INJECTION = [
  '{"$ne":null}',
  '","role":"key_admin","x":"',
  '{"__proto__":{"admin":true}}',
  '[]',
  '{}',
  'null',
  'true',
  '1e309',
  '-0',
  'NaN',
];

export const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

export const UNICODE_TRICKS = [
  'admin\u202Egnp.exe', // right-to-left override
  'a\u200Bb\u200C\u200D', // zero-width characters
  '\u0430dmin', // Cyrillic a (homoglyph)
  'nul\u0000byte',
  'lone\uD800surrogate',
  'e\u0301\u0301\u0301\u0301',
  '\uFEFFbom',
  'ｆｕｌｌｗｉｄｔｈ',
  '\u2028\u2029line-separators',
  '🔑'.repeat(300),
  'Ⅻ\u00DF\uFB01',
  '\r\nX-Injected: 1',
];

export const BAD_BASE64 = [
  '===',
  'YWJj$',
  `${'A'.repeat(43)}!`,
  'Zm9v\nYmFy',
  '%%%%',
  'YQ',
  '-_-_',
  `${'A'.repeat(44)}==`,
];

export const BAD_IDENTIFIERS = [
  'arn:aws:kms:us-east-1:000000000000:key/',
  'arn:aws:kms:::key/x',
  'arn:aws-xx:kms:us-east-1:000000000000:key/abc',
  'arn:aws:kms:us-east-1:000000000000:alias/../key/1234',
  'arn:aws:kms:us-east-1.evil.example.com:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  'arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab/../../x',
  `arn:aws:iam::000000000000:role/${'a'.repeat(600)}`,
  'arn:aws:iam::000000000000:role/../../user/root',
  'arn:aws:iam::*:role/*',
  'https://evil.example.com/keys/k',
  'https://myvault.vault.azure.net@evil.example.com/keys/k',
  'https://evil.example.com#.vault.azure.net/keys/k',
  'https://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'http://127.0.0.1:6379/',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'gopher://127.0.0.1:5432/_',
  'projects/../locations/x/keyRings/r/cryptoKeys/k',
  'projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1',
  `projects/${'x'.repeat(1000)}/locations/l/keyRings/r/cryptoKeys/k`,
  '//127.0.0.1:9/projects/p/locations/l/keyRings/r/cryptoKeys/k',
  'x@127.0.0.1:9',
  'sa@p.iam.gserviceaccount.com/../../x',
];

export const PATH_TRICKS = [
  '..',
  '../..',
  '%2e%2e%2f',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '%',
  '%zz',
  '.',
  ';',
  '*',
  '?x=1',
  '#frag',
  '00000000-0000-0000-0000-000000000000',
];

export const OVERSIZED = ['A'.repeat(257), 'A'.repeat(4097), 'x'.repeat(100_000)];

/** One hostile string. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      ...SQL_INJECTION,
      ...JSON_INJECTION,
      ...PROTO_KEYS,
      ...UNICODE_TRICKS,
      ...BAD_BASE64,
      ...BAD_IDENTIFIERS,
      ...PATH_TRICKS,
    ),
    weight: 6,
  },
  { arbitrary: fc.constantFrom(...OVERSIZED), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  { arbitrary: fc.string({ maxLength: 60 }), weight: 2 },
  { arbitrary: fc.uuid().map((u) => u.toUpperCase()), weight: 1 },
);

/** A value of the wrong type (or a hostile string). */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: hostileString, weight: 5 },
  {
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1e308,
      Number.MAX_SAFE_INTEGER + 2,
      0.5,
      [],
      {},
      [null],
      { $ne: null },
    ),
    weight: 2,
  },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 2 },
  { arbitrary: fc.array(hostileStringShort(), { maxLength: 5 }), weight: 1 },
);

function hostileStringShort(): fc.Arbitrary<string> {
  return fc.constantFrom(...SQL_INJECTION, ...UNICODE_TRICKS, ...BAD_IDENTIFIERS);
}

/** Percent-encode anything, including lone surrogates (which encodeURIComponent refuses). */
export function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  }
}
