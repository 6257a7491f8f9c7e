import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import type { FactorRow } from './mfa.repository';
import { signInPlan } from './mfa.service';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes';
import { SecretBox } from './secret-box';
import { newTotpSecret, totpStep } from './totp';

const factor = (kind: FactorRow['kind']): FactorRow => ({
  id: 'f',
  kind,
  label: kind,
  createdAt: '',
  lastUsedAt: null,
  confirmed: true,
  totpSecret: null,
  lastUsedStep: null,
  credentialId: null,
  publicKey: null,
  signCount: null,
  transports: null,
});

describe('recovery codes', () => {
  it('are 80-bit Crockford base32 codes that survive the usual misreadings and never collide in a set', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) {
      expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
      const typed = c.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
      expect(hashRecoveryCode(normalizeRecoveryCode(typed)!)).toEqual(hashRecoveryCode(normalizeRecoveryCode(c)!));
    }
    expect(normalizeRecoveryCode('AAAA-BBBB')).toBeNull();
    expect(normalizeRecoveryCode('UUUU-UUUU-UUUU-UUUU')).toBeNull();
  });
});

describe('TOTP', () => {
  it('accepts a code of the current step or one either side, once: the step is returned and later refused', async () => {
    const { secret, uri } = newTotpSecret('Keyhold', 'a@example.com');
    expect(uri).toContain(`secret=${secret}`);
    const now = 1_800_000_000_000;
    const code = await generate({ secret, epoch: now / 1000 });
    const step = await totpStep(secret, code, null, now);
    expect(step).toBe(Math.floor(now / 30_000));
    expect(await totpStep(secret, code, step, now)).toBeNull();
    expect(await totpStep(secret, await generate({ secret, epoch: now / 1000 - 30 }), step, now)).toBeNull();
    expect(await totpStep(secret, await generate({ secret, epoch: now / 1000 + 30 }), step, now)).toBe(step! + 1);
    expect(await totpStep(secret, await generate({ secret, epoch: now / 1000 + 90 }), null, now)).toBeNull();
    expect(await totpStep(secret, '12345', null, now)).toBeNull();
  });
});

describe('SecretBox', () => {
  it('opens only with the same key and the same associated data (a seed copied to another row does not decrypt)', () => {
    const box = new SecretBox(randomBytes(32));
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'tenant\nuser\nfactor');
    expect(sealed.toString('latin1')).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(sealed, 'tenant\nuser\nfactor')).toBe('JBSWY3DPEHPK3PXP');
    expect(() => box.open(sealed, 'tenant\nother-user\nfactor')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'tenant\nuser\nfactor')).toThrow();
  });
});

describe('signInPlan', () => {
  it('password alone only without factors and without a policy', () => {
    expect(signInPlan('key_admin', 'none', [], 0)).toBeNull();
    expect(signInPlan('auditor', 'none', [factor('totp')], 10)).toEqual({
      mode: 'verify',
      methods: ['totp', 'recovery_code'],
      passkeyRequired: false,
    });
    expect(signInPlan('auditor', 'mfa_required', [], 0)).toEqual({
      mode: 'enrol',
      methods: ['passkey', 'totp'],
      passkeyRequired: false,
    });
  });

  it('passkeys required for key admins: only a passkey verifies; without one, a passkey must be enrolled; auditors are not affected', () => {
    const p = 'passkey_required_for_key_admins' as const;
    expect(signInPlan('key_admin', p, [factor('totp')], 10)).toEqual({
      mode: 'enrol',
      methods: ['passkey'],
      passkeyRequired: true,
    });
    expect(signInPlan('key_admin', p, [factor('totp'), factor('passkey')], 10)).toEqual({
      mode: 'verify',
      methods: ['passkey'],
      passkeyRequired: true,
    });
    expect(signInPlan('auditor', p, [factor('totp')], 3)).toEqual({
      mode: 'verify',
      methods: ['totp', 'recovery_code'],
      passkeyRequired: false,
    });
  });
});
