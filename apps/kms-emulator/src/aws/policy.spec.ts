import { CallerIdentity, evaluate, globMatch, parsePolicy, principalMatches } from './policy';

const ROOT: CallerIdentity = { arn: 'arn:aws:iam::000000000000:root', accountId: '000000000000', isRoot: true };
const SESSION: CallerIdentity = {
  arn: 'arn:aws:sts::000000000000:assumed-role/r/s',
  accountId: '000000000000',
  roleArn: 'arn:aws:iam::000000000000:role/r',
  isRoot: false,
};
const OTHER: CallerIdentity = { arn: 'arn:aws:iam::111122223333:user/v', accountId: '111122223333', isRoot: false };
const KEY = 'arn:aws:kms:us-east-1:000000000000:key/k';

const doc = (...Statement: unknown[]) => parsePolicy(JSON.stringify({ Statement }), { requirePrincipal: true });

describe('policy evaluation', () => {
  it('matches actions case-insensitively with wildcards, resources case-sensitively', () => {
    expect(globMatch('kms:ReEncrypt*', 'kms:reencryptfrom', true)).toBe(true);
    expect(globMatch('kms:*', 'kms:Decrypt', true)).toBe(true);
    expect(globMatch('kms:Decrypt', 'kms:DecryptX', true)).toBe(false);
    expect(globMatch('arn:aws:kms:*:000000000000:key/*', KEY)).toBe(true);
    expect(globMatch('arn:aws:kms:*:000000000000:KEY/*', KEY)).toBe(false);
  });

  it('tells direct grants from delegation to the account', () => {
    const p = doc({ Effect: 'Allow', Principal: { AWS: '000000000000' }, Action: 'kms:*' });
    expect(principalMatches(p.Statement[0], ROOT)).toBe('direct');
    expect(principalMatches(p.Statement[0], SESSION)).toBe('account');
    expect(principalMatches(p.Statement[0], OTHER)).toBeNull();
    const byRole = doc({ Effect: 'Allow', Principal: { AWS: [SESSION.roleArn!] }, Action: 'kms:Decrypt' });
    expect(evaluate(byRole, { action: 'kms:Decrypt', resource: KEY, caller: SESSION })).toBe('allow');
    expect(evaluate(byRole, { action: 'kms:Encrypt', resource: KEY, caller: SESSION })).toBe('none');
  });

  it('lets an explicit Deny win over any Allow', () => {
    const p = doc(
      { Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' },
      { Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'kms:Decrypt', Resource: '*' },
    );
    expect(evaluate(p, { action: 'kms:Decrypt', resource: KEY, caller: SESSION })).toBe('deny');
    expect(evaluate(p, { action: 'kms:Encrypt', resource: KEY, caller: SESSION })).toBe('allow');
  });

  it('evaluates ExternalId conditions: missing or wrong values do not match', () => {
    const trust = doc({
      Effect: 'Allow',
      Principal: { AWS: OTHER.arn },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'sts:ExternalId': 'ext-1' } },
    });
    const m = (ext: string | undefined) =>
      evaluate(trust, { action: 'sts:AssumeRole', resource: 'r', caller: OTHER, context: { 'sts:ExternalId': ext } });
    expect(m('ext-1')).toBe('allow');
    expect(m('ext-2')).toBe('none');
    expect(m(undefined)).toBe('none');
  });

  it('refuses an operator outside IAM grammar when the policy is stored, instead of evaluating it to false', () => {
    expect(() =>
      doc({ Effect: 'Deny', Principal: '*', Action: '*', Condition: { ArnNotLikeish: { 'aws:PrincipalArn': 'x' } } }),
    ).toThrow('ArnNotLikeish is not a supported condition operator');
    expect(() =>
      doc({ Effect: 'Deny', Principal: '*', Action: '*', Condition: { 'ForAnyValue:Null': { k: 'true' } } }),
    ).toThrow('not a supported');
    expect(() =>
      doc({ Effect: 'Deny', Principal: '*', Action: '*', Condition: { NullIfExists: { k: 'true' } } }),
    ).toThrow('not a supported');
  });

  const allowIf = (Condition: unknown) => doc({ Effect: 'Allow', Principal: '*', Action: '*', Condition });
  const holds = (Condition: unknown, context: Record<string, string | string[] | undefined>) =>
    evaluate(allowIf(Condition), { action: 'kms:Decrypt', resource: KEY, caller: ROOT, context }) === 'allow';

  it('evaluates every operator family as IAM documents them', () => {
    expect(holds({ Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'true' })).toBe(true);
    expect(holds({ Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': 'true' })).toBe(false);
    expect(holds({ NumericLessThan: { n: 10 } }, { n: '9' })).toBe(true);
    expect(holds({ NumericGreaterThanEquals: { n: '10' } }, { n: '9' })).toBe(false);
    expect(
      holds(
        { DateLessThan: { 'aws:CurrentTime': '2030-01-01T00:00:00Z' } },
        { 'aws:CurrentTime': '2026-01-01T00:00:00Z' },
      ),
    ).toBe(true);
    expect(holds({ DateGreaterThan: { 'aws:EpochTime': '1900000000' } }, { 'aws:EpochTime': '1800000000' })).toBe(
      false,
    );
    expect(holds({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.1.2.3' })).toBe(true);
    expect(
      holds({ IpAddress: { 'aws:SourceIp': ['192.168.0.0/16', '127.0.0.1/32'] } }, { 'aws:SourceIp': '127.0.0.1' }),
    ).toBe(true);
    expect(holds({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.9.9.9' })).toBe(false);
    expect(holds({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8::1' })).toBe(true);
    expect(
      holds(
        { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/keyhold/*' } },
        { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:role/keyhold/r1' },
      ),
    ).toBe(true);
    // ArnLike matches part by part: a wildcard in the account part cannot swallow the resource part.
    expect(
      holds(
        { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*' } },
        { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:role/r' },
      ),
    ).toBe(false);
    expect(
      holds(
        { ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/admin' } },
        { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:role/keyhold' },
      ),
    ).toBe(true);
    expect(
      holds(
        { ArnEquals: { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:root' } },
        { 'aws:PrincipalArn': 'arn:aws:iam::000000000000:root' },
      ),
    ).toBe(true);
    expect(holds({ StringEqualsIgnoreCase: { k: 'ABC' } }, { k: 'abc' })).toBe(true);
    expect(holds({ BinaryEquals: { k: 'QUJD' } }, { k: 'QUJD' })).toBe(true);
  });

  it('absent keys: false for matching operators, true for negated ones and IfExists, Null tests presence', () => {
    expect(holds({ StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } }, {})).toBe(false);
    expect(holds({ StringNotEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } }, {})).toBe(true);
    expect(holds({ ArnNotLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/x' } }, {})).toBe(true);
    expect(holds({ StringEqualsIfExists: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } }, {})).toBe(true);
    expect(holds({ Null: { 'kms:ViaService': 'true' } }, {})).toBe(true);
    expect(holds({ Null: { 'kms:ViaService': 'false' } }, {})).toBe(false);
    expect(holds({ Null: { 'kms:EncryptionContextKeys': 'true' } }, { 'kms:EncryptionContextKeys': ['a'] })).toBe(
      false,
    );
  });

  it('set operators on a multivalued key: ForAnyValue needs one match, ForAllValues every value (and is true on none)', () => {
    const keys = { 'kms:EncryptionContextKeys': ['keyhold:tenant', 'keyhold:workspace'] };
    expect(holds({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'keyhold:tenant' } }, keys)).toBe(true);
    expect(holds({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'keyhold:tenant' } }, keys)).toBe(false);
    expect(holds({ 'ForAllValues:StringLike': { 'kms:EncryptionContextKeys': 'keyhold:*' } }, keys)).toBe(true);
    expect(holds({ 'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': 'x' } }, {})).toBe(true);
    expect(holds({ 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'x' } }, {})).toBe(false);
  });

  it('condition key names are case-insensitive, values case-sensitive', () => {
    expect(
      holds(
        { StringEquals: { 'kms:EncryptionContext:Keyhold:Tenant': 't-1' } },
        { 'kms:EncryptionContext:keyhold:tenant': 't-1' },
      ),
    ).toBe(true);
    expect(
      holds(
        { StringEquals: { 'kms:EncryptionContext:keyhold:tenant': 'T-1' } },
        { 'kms:EncryptionContext:keyhold:tenant': 't-1' },
      ),
    ).toBe(false);
  });

  it('NotAction and NotResource match everything they do not list', () => {
    const p = doc({
      Effect: 'Deny',
      Principal: '*',
      NotAction: ['kms:Describe*', 'kms:List*'],
      NotResource: 'arn:aws:kms:*:*:key/other',
    });
    expect(evaluate(p, { action: 'kms:Decrypt', resource: KEY, caller: ROOT })).toBe('deny');
    expect(evaluate(p, { action: 'kms:DescribeKey', resource: KEY, caller: ROOT })).toBe('none');
    expect(
      evaluate(p, { action: 'kms:Decrypt', resource: 'arn:aws:kms:us-east-1:000000000000:key/other', caller: ROOT }),
    ).toBe('none');
    expect(() => doc({ Effect: 'Deny', Principal: '*', Action: 'a', NotAction: 'b' })).toThrow(
      'exactly one of Action and NotAction',
    );
  });

  it('NotPrincipal with Deny spares a session only when its session, role and account are all named (IAM user guide)', () => {
    const deny = (names: string[]) => doc({ Effect: 'Deny', NotPrincipal: { AWS: names }, Action: 'kms:*' });
    const d = (names: string[], caller: typeof SESSION) =>
      evaluate(deny(names), { action: 'kms:Decrypt', resource: KEY, caller });
    const account = 'arn:aws:iam::000000000000:root';
    expect(d([SESSION.arn, SESSION.roleArn!, account], SESSION)).toBe('none');
    expect(d([SESSION.roleArn!], SESSION)).toBe('deny');
    expect(d([SESSION.arn, account], SESSION)).toBe('deny');
    expect(d([SESSION.arn, SESSION.roleArn!, account], OTHER)).toBe('deny');
    expect(d([account], ROOT)).toBe('none');
    const allow = doc({ Effect: 'Allow', NotPrincipal: { AWS: [OTHER.arn] }, Action: 'kms:*' });
    expect(evaluate(allow, { action: 'kms:Decrypt', resource: KEY, caller: OTHER })).toBe('none');
    expect(evaluate(allow, { action: 'kms:Decrypt', resource: KEY, caller: SESSION })).toBe('allow');
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['{}', 'no Statement'],
    ['{"Statement":[{"Effect":"Maybe","Action":"x","Principal":"*"}]}', 'Effect'],
    ['{"Statement":[{"Effect":"Allow","Principal":"*"}]}', 'Action'],
    [
      '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"x","Condition":{"StringEquals":{"k":{"nested":1}}}}]}',
      'must be a string',
    ],
    ['{"Statement":[{"Effect":"Allow","Action":"x"}]}', 'Principal'],
  ])('rejects malformed policy %s', (text, words) => {
    expect(() => parsePolicy(text, { requirePrincipal: true })).toThrow(words);
  });
});
