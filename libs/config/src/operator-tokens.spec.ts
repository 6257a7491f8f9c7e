import {
  hashOperatorToken,
  matchOperatorToken,
  operatorTokenEntryLine,
  parseOperatorTokens,
  plainOperatorToken,
} from './operator-tokens';
import { legacyTokenKeyId, parseTokenKeys } from './token-keys';

const alice = 'a'.repeat(40);
const ci = 'c'.repeat(40);

describe('operator tokens', () => {
  it('parses named, hashed, optionally expiring entries', () => {
    const [a, c] = parseOperatorTokens(
      `${operatorTokenEntryLine('alice', alice, new Date('2027-03-01T00:00:00Z'))}, ${operatorTokenEntryLine('ci', ci, null)}`,
    );
    expect(a).toEqual({ name: 'alice', sha256: hashOperatorToken(alice), expiresAt: new Date('2027-03-01T00:00:00Z') });
    expect(c.expiresAt).toBeNull();
  });

  it.each([
    ['', 'at least one'],
    ['alice=' + 'f'.repeat(64), 'name=sha256'],
    ['alice=sha256:' + 'f'.repeat(63), 'name=sha256'],
    ['al ice=sha256:' + 'f'.repeat(64), 'must be 1-64'],
    ['alice=sha256:' + 'f'.repeat(64) + '@tomorrow', 'ISO 8601'],
    [`alice=sha256:${'f'.repeat(64)},alice=sha256:${'e'.repeat(64)}`, 'unique'],
  ])('refuses %j', (text, why) => {
    expect(() => parseOperatorTokens(text)).toThrow(why);
  });

  it('matches the right name, never an expired or unknown token', () => {
    const now = Date.parse('2027-01-01T00:00:00Z');
    const entries = [
      ...parseOperatorTokens(
        `${operatorTokenEntryLine('alice', alice, new Date(now + 1000))},${operatorTokenEntryLine('old', 'o'.repeat(40), new Date(now - 1))}`,
      ),
      plainOperatorToken(ci),
    ];
    expect(matchOperatorToken(alice, entries, now)).toBe('alice');
    expect(matchOperatorToken(ci, entries, now)).toBe('default');
    expect(matchOperatorToken('o'.repeat(40), entries, now)).toBeNull();
    expect(matchOperatorToken(alice, entries, now + 1000)).toBeNull();
    expect(matchOperatorToken('x'.repeat(40), entries, now)).toBeNull();
    expect(matchOperatorToken(undefined, entries, now)).toBeNull();
    expect(matchOperatorToken('', entries, now)).toBeNull();
  });
});

describe('token signing keys', () => {
  it('parses kid=secret entries, signing key first', () => {
    expect(parseTokenKeys(`k2=${'2'.repeat(32)}, k1=${'1'.repeat(32)}`)).toEqual([
      { kid: 'k2', secret: '2'.repeat(32) },
      { kid: 'k1', secret: '1'.repeat(32) },
    ]);
    // a secret may itself contain '='
    expect(parseTokenKeys(`k=${'x'.repeat(30)}==`)[0].secret).toBe(`${'x'.repeat(30)}==`);
  });

  it.each([
    ['', 'at least one'],
    ['nokid', 'kid=secret'],
    [`bad kid=${'x'.repeat(32)}`, 'key id'],
    ['k=short', 'at least 32'],
    [`k=${'x'.repeat(32)},k=${'y'.repeat(32)}`, 'unique'],
  ])('refuses %j', (text, why) => {
    expect(() => parseTokenKeys(text)).toThrow(why);
  });

  it('derives the same key id from the same single secret on every replica, another from another secret', () => {
    expect(legacyTokenKeyId('s'.repeat(40))).toBe(legacyTokenKeyId('s'.repeat(40)));
    expect(legacyTokenKeyId('s'.repeat(40))).not.toBe(legacyTokenKeyId('t'.repeat(40)));
    expect(legacyTokenKeyId('s'.repeat(40))).toMatch(/^s-[A-Za-z0-9_-]{8}$/);
  });
});
