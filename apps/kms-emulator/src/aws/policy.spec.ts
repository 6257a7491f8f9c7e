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
    const unsupported = doc({ Effect: 'Allow', Principal: '*', Action: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } });
    expect(evaluate(unsupported, { action: 'kms:Decrypt', resource: KEY, caller: ROOT, context: { 'aws:SecureTransport': 'true' } })).toBe('none');
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['{}', 'no Statement'],
    ['{"Statement":[{"Effect":"Maybe","Action":"x","Principal":"*"}]}', 'Effect'],
    ['{"Statement":[{"Effect":"Allow","Principal":"*"}]}', 'Action'],
    ['{"Statement":[{"Effect":"Allow","Action":"x"}]}', 'Principal'],
  ])('rejects malformed policy %s', (text, words) => {
    expect(() => parsePolicy(text, { requirePrincipal: true })).toThrow(words);
  });
});
