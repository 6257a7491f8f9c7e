import { hashOneTimeToken, newOneTimeToken, ONE_TIME_TOKEN_RE } from './one-time-token';
import { passwordProblem } from './password-policy';
import { accountKey } from './token-service';

describe('password policy', () => {
  it('asks for length and refuses the guessable', () => {
    expect(passwordProblem('short', 'kim@acme.example')).toMatch(/at least 12/);
    expect(passwordProblem('aaaaaaaaaaaaaaaa', 'kim@acme.example')).toMatch(/different characters/);
    expect(passwordProblem('Password1234', 'kim@acme.example')).toMatch(/common/);
    expect(passwordProblem('my-name-is-kimberly-42', 'kimberly@acme.example')).toMatch(/email/);
    expect(passwordProblem('x'.repeat(1025), 'kim@acme.example')).toMatch(/at most/);
    expect(passwordProblem('purple otter juggles 7 lamps', 'kim@acme.example')).toBeNull();
  });
});

describe('one-time tokens', () => {
  it('are 256-bit base64url and stored only as a SHA-256', () => {
    const { token, hash } = newOneTimeToken();
    expect(token).toMatch(ONE_TIME_TOKEN_RE);
    expect(hash).toHaveLength(32);
    expect(hashOneTimeToken(token).equals(hash)).toBe(true);
    expect(newOneTimeToken().token).not.toBe(token);
  });
});

describe('token endpoint account keys', () => {
  it('are canonical: case variants of a tenant id, email or client id share one bucket', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const a = accountKey({ grant_type: 'password', tenant_id: id, username: 'Kim@Acme.example', password: 'x' });
    expect(
      accountKey({
        grant_type: 'password',
        tenant_id: id.toUpperCase(),
        username: ' kim@acme.EXAMPLE ',
        password: 'y',
      }),
    ).toBe(a);
    expect(
      accountKey({
        grant_type: 'password',
        tenant_id: 'F'.repeat(0) + id.replace(/a/g, 'A'),
        username: 'ｋｉｍ@acme.example',
        password: 'y',
      }),
    ).toBe(a);
    expect(accountKey({ grant_type: 'client_credentials', client_id: 'KH_ABC', client_secret: 's' })).toBe(
      accountKey({ grant_type: 'client_credentials', client_id: 'kh_abc', client_secret: 't' }),
    );
  });
});
