import { randomUUID } from 'node:crypto';
import { pgCode, type AdminRole, type Queryable } from '@app/persistence';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { DataSource } from 'typeorm';
import type { AccessClaims, TokenSigner } from '../tokens';
import type { MfaChallenges, PendingSignIn } from './challenges';
import { MfaError } from './errors';
import { factorView, type FactorRow, type FactorView, type MfaPolicy, type MfaRepository } from './mfa.repository';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes';
import type { SecretBox } from './secret-box';
import { newTotpSecret, totpStep } from './totp';

/** The audit log as the MFA flows use it: an append may join the transaction of the change it records. */
export interface MfaAudit {
  append(
    tenantId: string,
    record: { actor: string; action: string; target: string; outcome: string; details?: Record<string, unknown> },
    tx?: Queryable,
  ): Promise<number>;
}

/** The admin user as the sign-in sees it. */
export interface MfaUser {
  tenantId: string;
  id: string;
  email: string;
  role: AdminRole;
  disabled: boolean;
  sessionGeneration: number;
}

export interface MfaDeps {
  ds: DataSource;
  repo: MfaRepository;
  /** The user now (null when gone). */
  findUser(tenantId: string, userId: string): Promise<MfaUser | null>;
  challenges: MfaChallenges;
  signer: TokenSigner;
  audit: MfaAudit;
  /** Ends the user's sessions on every replica after a committed generation bump. */
  sessions: { revoked(userId: string, generation: number | null): Promise<void> };
  box: SecretBox;
  settings: { rpId: string; rpName: string; origins: readonly string[]; freshAuthSeconds: number };
}

export type MfaMethod = 'totp' | 'passkey' | 'recovery_code';

/** What the token endpoint answers instead of a session when a second step is due. */
export interface MfaChallengeAnswer {
  mfa_required: true;
  mfa_token: string;
  /** verify: prove one of `methods`; enrol: the tenant policy requires enrolling one of `methods` first. */
  mfa_mode: 'verify' | 'enrol';
  methods: MfaMethod[];
  expires_in: number;
}

export interface SignedIn {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Shown once, when the user's first factor was just enrolled. */
  recovery_codes?: string[];
}

const actorOf = (userId: string) => `admin:${userId}`;
const LABEL_MAX = 64;

/**
 * Second factors of tenant admins: TOTP, WebAuthn passkeys and recovery codes, the tenant's policy, and the second
 * step of sign-in. Every change to a factor runs in one transaction with its audit record.
 */
export class MfaService {
  constructor(private readonly d: MfaDeps) {}

  // ---------------------------------------------------------------- sign-in

  /**
   * Called once a first factor was right (the token endpoint's password; any other sign-in that ends in an admin
   * session must call it too, or it bypasses the tenant's policy). No factor and a policy that asks for none: the
   * session token at once (unchanged behaviour). Otherwise a single-use challenge, never a session.
   */
  async afterFirstFactor(user: MfaUser): Promise<SignedIn | MfaChallengeAnswer> {
    const [factors, policy, codes] = await Promise.all([
      this.confirmed(user),
      this.d.repo.policy(user.tenantId),
      this.d.repo.recoveryCodesLeft(user.tenantId, user.id),
    ]);
    const plan = signInPlan(user.role, policy, factors, codes);
    if (!plan) return this.session(user);
    const token = await this.d.challenges.create({
      tid: user.tenantId,
      sub: user.id,
      role: user.role,
      gen: user.sessionGeneration,
      mode: plan.mode,
    });
    return {
      mfa_required: true,
      mfa_token: token,
      mfa_mode: plan.mode,
      methods: plan.methods,
      expires_in: this.d.challenges.expiresIn,
    };
  }

  async verifyTotp(mfaToken: string, code: string): Promise<SignedIn> {
    const { p, user, plan } = await this.pending(mfaToken, 'verify');
    if (!plan.methods.includes('totp')) throw this.unavailable(plan, 'totp');
    const ok = await this.checkTotp(user, code);
    if (!ok) {
      await this.d.challenges.failed(mfaToken, p.sub);
      throw badCode();
    }
    return this.complete(mfaToken, user);
  }

  async verifyRecoveryCode(mfaToken: string, code: string): Promise<SignedIn & { recovery_codes_remaining: number }> {
    const { p, user, plan } = await this.pending(mfaToken, 'verify');
    if (!plan.methods.includes('recovery_code')) throw this.unavailable(plan, 'recovery_code');
    const normalized = typeof code === 'string' ? normalizeRecoveryCode(code) : null;
    if (!normalized || !(await this.d.repo.useRecoveryCode(user.tenantId, user.id, hashRecoveryCode(normalized)))) {
      await this.d.challenges.failed(mfaToken, p.sub);
      throw badCode();
    }
    const left = await this.d.repo.recoveryCodesLeft(user.tenantId, user.id);
    await this.d.audit.append(user.tenantId, {
      actor: actorOf(user.id),
      action: 'admin_user.mfa_recovery_code_used',
      target: `admin_user:${user.id}`,
      outcome: 'success',
      details: { remaining: left },
    });
    return { ...(await this.complete(mfaToken, user)), recovery_codes_remaining: left };
  }

  async passkeySignInOptions(mfaToken: string) {
    const { user, plan } = await this.pending(mfaToken, 'verify');
    if (!plan.methods.includes('passkey')) throw this.unavailable(plan, 'passkey');
    const passkeys = (await this.confirmed(user)).filter((f) => f.kind === 'passkey');
    const options = await generateAuthenticationOptions({
      rpID: this.d.settings.rpId,
      userVerification: 'required',
      allowCredentials: passkeys.map((f) => ({
        id: f.credentialId!,
        transports: (f.transports ?? []) as AuthenticatorTransportFuture[],
      })),
    });
    await this.d.challenges.putWebAuthn('sign-in', mfaToken, options.challenge);
    return options;
  }

  async verifyPasskey(mfaToken: string, response: AuthenticationResponseJSON): Promise<SignedIn> {
    const { p, user, plan } = await this.pending(mfaToken, 'verify');
    if (!plan.methods.includes('passkey')) throw this.unavailable(plan, 'passkey');
    const expectedChallenge = await this.d.challenges.takeWebAuthn('sign-in', mfaToken);
    const passkey = (await this.confirmed(user)).find((f) => f.kind === 'passkey' && f.credentialId === response.id);
    const fail = async (why: string) => {
      await this.d.challenges.failed(mfaToken, p.sub);
      return new MfaError('WEBAUTHN_VERIFICATION_FAILED', `the passkey was not accepted: ${why}`);
    };
    if (!expectedChallenge) throw await fail('no live passkey challenge for this sign-in (ask for new options)');
    if (!passkey) throw await fail('this passkey is not registered to this account');
    let newCounter: number;
    try {
      const v = await verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: [...this.d.settings.origins],
        expectedRPID: this.d.settings.rpId,
        requireUserVerification: true,
        credential: {
          id: passkey.credentialId!,
          publicKey: new Uint8Array(passkey.publicKey!),
          counter: passkey.signCount ?? 0,
          transports: (passkey.transports ?? []) as AuthenticatorTransportFuture[],
        },
      });
      if (!v.verified) throw new Error('signature did not verify');
      newCounter = v.authenticationInfo.newCounter;
    } catch (err) {
      throw await fail(webauthnReason(err));
    }
    // The counter moved forward from the value read above, and nobody else moved it meanwhile.
    if (!(await this.d.repo.usePasskey(user.tenantId, user.id, passkey.id, passkey.signCount ?? 0, newCounter)))
      throw await fail('the signature counter did not advance');
    return this.complete(mfaToken, user);
  }

  // Enrolment during sign-in (the tenant policy requires a factor the user does not have yet).

  async startTotpAtSignIn(mfaToken: string, label?: string) {
    const { user, plan } = await this.pending(mfaToken, 'enrol');
    if (!plan.methods.includes('totp')) throw this.unavailable(plan, 'totp');
    return this.newTotp(user, label);
  }

  async confirmTotpAtSignIn(mfaToken: string, factorId: string, code: string): Promise<SignedIn> {
    const { user, plan } = await this.pending(mfaToken, 'enrol');
    if (!plan.methods.includes('totp')) throw this.unavailable(plan, 'totp');
    const added = await this.confirmTotpFactor(user, factorId, code, () => this.d.challenges.failed(mfaToken, user.id));
    return {
      ...(await this.complete(mfaToken, user)),
      ...(added.recoveryCodes ? { recovery_codes: added.recoveryCodes } : {}),
    };
  }

  async passkeyRegistrationOptionsAtSignIn(mfaToken: string) {
    const { user, plan } = await this.pending(mfaToken, 'enrol');
    if (!plan.methods.includes('passkey')) throw this.unavailable(plan, 'passkey');
    return this.registrationOptions(user);
  }

  async registerPasskeyAtSignIn(
    mfaToken: string,
    response: RegistrationResponseJSON,
    label?: string,
  ): Promise<SignedIn> {
    const { user, plan } = await this.pending(mfaToken, 'enrol');
    if (!plan.methods.includes('passkey')) throw this.unavailable(plan, 'passkey');
    const added = await this.addPasskey(user, response, label, () => this.d.challenges.failed(mfaToken, user.id));
    return {
      ...(await this.complete(mfaToken, user)),
      ...(added.recoveryCodes ? { recovery_codes: added.recoveryCodes } : {}),
    };
  }

  // ---------------------------------------------------------------- signed in: own factors

  async status(c: AccessClaims) {
    const [factors, left, policy] = await Promise.all([
      this.d.repo.factors(c.tid, c.sub),
      this.d.repo.recoveryCodesLeft(c.tid, c.sub),
      this.d.repo.policy(c.tid),
    ]);
    return { factors: factors.filter((f) => f.confirmed).map(factorView), recoveryCodesRemaining: left, policy };
  }

  async startTotp(c: AccessClaims, label?: string) {
    return this.newTotp(await this.fresh(c), label);
  }

  async confirmTotp(c: AccessClaims, factorId: string, code: string) {
    // Not yours (another user's, another tenant's) is 404 before anything else, however old the session.
    await this.ownFactor(c, factorId, false);
    const user = await this.fresh(c);
    return this.confirmTotpFactor(user, factorId, code, () => this.d.challenges.failedSignedIn(user.id));
  }

  async passkeyRegistrationOptions(c: AccessClaims) {
    return this.registrationOptions(await this.fresh(c));
  }

  async registerPasskey(c: AccessClaims, response: RegistrationResponseJSON, label?: string) {
    const user = await this.fresh(c);
    return this.addPasskey(user, response, label, () => this.d.challenges.failedSignedIn(user.id));
  }

  async removeFactor(c: AccessClaims, factorId: string): Promise<void> {
    await this.ownFactor(c, factorId, true);
    const user = await this.fresh(c);
    await this.d.ds.transaction(async (m) => {
      const f = await this.d.repo.deleteFactor(m, user.tenantId, user.id, factorId);
      if (!f || !f.confirmed) throw new MfaError('MFA_FACTOR_NOT_FOUND', 'no factor with this id');
      const left = await this.d.repo.confirmedCount(m, user.tenantId, user.id);
      // Recovery codes stand in for factors; with none left they would be a way around nothing.
      if (left === 0) await this.d.repo.deleteRecoveryCodes(m, user.tenantId, user.id);
      await this.d.audit.append(
        user.tenantId,
        {
          actor: actorOf(user.id),
          action: 'admin_user.mfa_factor_removed',
          target: `admin_user:${user.id}`,
          outcome: 'success',
          details: { factorId: f.id, kind: f.kind, label: f.label, factorsLeft: left },
        },
        m,
      );
    });
  }

  async regenerateRecoveryCodes(c: AccessClaims): Promise<{ recoveryCodes: string[] }> {
    const user = await this.fresh(c);
    const codes = newRecoveryCodes();
    await this.d.ds.transaction(async (m) => {
      if ((await this.d.repo.confirmedCount(m, user.tenantId, user.id)) === 0)
        throw new MfaError(
          'MFA_NOT_ENROLLED',
          'enrol a TOTP app or a passkey first; recovery codes stand in for a factor',
        );
      await this.d.repo.replaceRecoveryCodes(
        m,
        user.tenantId,
        user.id,
        codes.map((x) => hashRecoveryCode(normalizeRecoveryCode(x)!)),
      );
      await this.d.audit.append(
        user.tenantId,
        {
          actor: actorOf(user.id),
          action: 'admin_user.mfa_recovery_codes_generated',
          target: `admin_user:${user.id}`,
          outcome: 'success',
          details: { count: codes.length },
        },
        m,
      );
    });
    return { recoveryCodes: codes };
  }

  // ---------------------------------------------------------------- key admin: other users, policy

  /** Removes every factor and recovery code of another admin and signs them out everywhere (lost device). */
  async resetUser(c: AccessClaims, userId: string): Promise<{ factorsRemoved: number }> {
    if (userId === c.sub)
      throw new MfaError(
        'MFA_RESET_SELF',
        'manage your own factors on your security page; another key admin resets yours',
      );
    const target = await this.d.findUser(c.tid, userId);
    if (!target) throw new MfaError('ADMIN_USER_NOT_FOUND', 'admin user not found');
    const { removed, gen } = await this.d.ds.transaction(async (m) => {
      const n = await this.d.repo.deleteAll(m, c.tid, userId);
      const g = await this.d.repo.bumpGeneration(m, c.tid, userId);
      if (g === null) throw new MfaError('ADMIN_USER_NOT_FOUND', 'admin user not found');
      await this.d.audit.append(
        c.tid,
        {
          actor: actorOf(c.sub),
          action: 'admin_user.mfa_reset',
          target: `admin_user:${userId}`,
          outcome: 'success',
          details: { factorsRemoved: n, email: target.email },
        },
        m,
      );
      return { removed: n, gen: g };
    });
    await this.d.sessions.revoked(userId, gen);
    return { factorsRemoved: removed };
  }

  async policy(tenantId: string): Promise<{ policy: MfaPolicy }> {
    return { policy: await this.d.repo.policy(tenantId) };
  }

  async setPolicy(c: AccessClaims, policy: MfaPolicy): Promise<{ policy: MfaPolicy }> {
    await this.d.ds.transaction(async (m) => {
      const before = await this.d.repo.setPolicy(m, c.tid, policy, actorOf(c.sub));
      await this.d.audit.append(
        c.tid,
        {
          actor: actorOf(c.sub),
          action: 'tenant.mfa_policy_changed',
          target: `tenant:${c.tid}`,
          outcome: 'success',
          details: { before, after: policy },
        },
        m,
      );
    });
    return { policy };
  }

  // ---------------------------------------------------------------- internals

  private async ownFactor(c: AccessClaims, factorId: string, confirmed: boolean): Promise<void> {
    const f = await this.d.repo.factor(c.tid, c.sub, factorId);
    if (!f || f.confirmed !== confirmed)
      throw new MfaError(
        'MFA_FACTOR_NOT_FOUND',
        confirmed ? 'no factor with this id' : 'no pending TOTP set-up with this id (start again)',
      );
  }

  private async confirmed(user: Pick<MfaUser, 'tenantId' | 'id'>): Promise<FactorRow[]> {
    return (await this.d.repo.factors(user.tenantId, user.id)).filter((f) => f.confirmed);
  }

  /** The live challenge, its user (unchanged since the password step) and what the user may do now. */
  private async pending(mfaToken: string, mode: PendingSignIn['mode']) {
    const p = await this.d.challenges.peek(mfaToken);
    const user = await this.d.findUser(p.tid, p.sub);
    if (!user || user.disabled || user.sessionGeneration !== p.gen) {
      await this.d.challenges.consume(mfaToken);
      throw new MfaError(
        'MFA_CHALLENGE_INVALID',
        'this sign-in step is no longer valid (used, expired or too many wrong codes); sign in again',
      );
    }
    const [factors, policy, codes] = await Promise.all([
      this.confirmed(user),
      this.d.repo.policy(user.tenantId),
      this.d.repo.recoveryCodesLeft(user.tenantId, user.id),
    ]);
    // Re-planned on every step: a policy changed after the password step applies at once.
    const plan = signInPlan(user.role, policy, factors, codes) ?? {
      mode: 'verify' as const,
      methods: [] as MfaMethod[],
      passkeyRequired: false,
    };
    if (plan.mode !== mode) {
      if (plan.passkeyRequired && mode === 'verify') throw passkeyRequired();
      throw new MfaError(
        'MFA_METHOD_NOT_AVAILABLE',
        plan.mode === 'enrol'
          ? 'this sign-in must enrol a factor first (mfa_mode enrol)'
          : 'this account already has a factor: verify it',
      );
    }
    return { p, user, plan };
  }

  private unavailable(plan: { passkeyRequired: boolean }, method: MfaMethod): MfaError {
    if (plan.passkeyRequired && method !== 'passkey') return passkeyRequired();
    return new MfaError('MFA_METHOD_NOT_AVAILABLE', `${method.replace('_', ' ')} is not available for this sign-in`);
  }

  private async complete(mfaToken: string, user: MfaUser): Promise<SignedIn> {
    if (!(await this.d.challenges.consume(mfaToken)))
      throw new MfaError('MFA_CHALLENGE_INVALID', 'this sign-in step was already used; sign in again');
    await this.d.challenges.resetBudget(user.id);
    return this.session(user);
  }

  private async session(user: MfaUser): Promise<SignedIn> {
    const t = await this.d.signer.sign({
      tid: user.tenantId,
      sub: user.id,
      role: user.role,
      gen: user.sessionGeneration,
    });
    return { access_token: t.token, token_type: 'Bearer', expires_in: t.expiresIn };
  }

  /**
   * Enrolling or removing a factor needs a session signed in recently: tokens are only ever issued by a sign-in
   * (never refreshed), so the token's `iat` is when its holder last proved who they are.
   */
  private async fresh(c: AccessClaims): Promise<MfaUser> {
    if (Date.now() - c.iat * 1000 > this.d.settings.freshAuthSeconds * 1000)
      throw new MfaError(
        'FRESH_AUTH_REQUIRED',
        `sign in again to change your factors (sessions older than ${this.d.settings.freshAuthSeconds} s may not)`,
      );
    const user = await this.d.findUser(c.tid, c.sub);
    if (!user || user.disabled) throw new MfaError('ADMIN_USER_NOT_FOUND', 'admin user not found');
    await this.d.challenges.assertBudget(user.id);
    return user;
  }

  private async checkTotp(user: MfaUser, code: string): Promise<boolean> {
    for (const f of (await this.confirmed(user)).filter((x) => x.kind === 'totp')) {
      const step = await totpStep(this.d.box.open(f.totpSecret!, aad(user, f.id)), code, f.lastUsedStep);
      if (step !== null && (await this.d.repo.useTotpStep(this.d.ds, user.tenantId, user.id, f.id, step))) return true;
    }
    return false;
  }

  private async newTotp(user: MfaUser, label?: string) {
    const id = randomUUID();
    const { secret, uri } = newTotpSecret(this.d.settings.rpName, user.email);
    await this.d.repo.insertTotp(this.d.ds, {
      id,
      tenantId: user.tenantId,
      userId: user.id,
      label: cleanLabel(label, 'Authenticator app'),
      secret: this.d.box.seal(secret, aad(user, id)),
    });
    return { factorId: id, secret, otpauthUri: uri };
  }

  private async confirmTotpFactor(
    user: MfaUser,
    factorId: string,
    code: string,
    onWrong: () => Promise<void>,
  ): Promise<{ factor: FactorView; recoveryCodes?: string[] }> {
    const f = await this.d.repo.factor(user.tenantId, user.id, factorId);
    if (!f || f.kind !== 'totp' || f.confirmed)
      throw new MfaError('MFA_FACTOR_NOT_FOUND', 'no pending TOTP set-up with this id (start again)');
    const step = await totpStep(this.d.box.open(f.totpSecret!, aad(user, f.id)), code, f.lastUsedStep);
    if (step === null) {
      await onWrong();
      throw badCode();
    }
    return this.added(user, f, (m) =>
      this.d.repo.useTotpStep(m, user.tenantId, user.id, f.id, step).then((ok) => {
        if (!ok) throw badCode();
      }),
    );
  }

  private async registrationOptions(user: MfaUser) {
    const passkeys = (await this.confirmed(user)).filter((f) => f.kind === 'passkey');
    const options = await generateRegistrationOptions({
      rpName: this.d.settings.rpName,
      rpID: this.d.settings.rpId,
      userName: user.email,
      userDisplayName: user.email,
      // The user handle: the user's id bytes (stable, and no personal data inside the authenticator).
      userID: new Uint8Array(Buffer.from(user.id.replace(/-/g, ''), 'hex')),
      attestationType: 'none',
      excludeCredentials: passkeys.map((f) => ({
        id: f.credentialId!,
        transports: (f.transports ?? []) as AuthenticatorTransportFuture[],
      })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    });
    await this.d.challenges.putWebAuthn('register', user.id, options.challenge);
    return options;
  }

  private async addPasskey(
    user: MfaUser,
    response: RegistrationResponseJSON,
    label: string | undefined,
    onWrong: () => Promise<void>,
  ) {
    const expectedChallenge = await this.d.challenges.takeWebAuthn('register', user.id);
    const fail = async (why: string) => {
      await onWrong();
      return new MfaError('WEBAUTHN_VERIFICATION_FAILED', `the passkey was not registered: ${why}`);
    };
    if (!expectedChallenge) throw await fail('no live registration challenge (ask for new options)');
    let cred: { id: string; publicKey: Uint8Array; counter: number; transports?: string[] };
    try {
      const v = await verifyRegistrationResponse({
        response,
        expectedChallenge,
        expectedOrigin: [...this.d.settings.origins],
        expectedRPID: this.d.settings.rpId,
        requireUserVerification: true,
      });
      if (!v.verified) throw new Error('attestation did not verify');
      cred = v.registrationInfo.credential;
    } catch (err) {
      throw await fail(webauthnReason(err));
    }
    const id = randomUUID();
    const row = {
      id,
      tenantId: user.tenantId,
      userId: user.id,
      label: cleanLabel(label, 'Passkey'),
      credentialId: cred.id,
      publicKey: Buffer.from(cred.publicKey),
      signCount: cred.counter,
      transports: cred.transports ?? [],
    };
    try {
      return await this.added(user, { id, kind: 'passkey', label: row.label }, (m) =>
        this.d.repo.insertPasskey(m, row),
      );
    } catch (err) {
      if (pgCode(err) === '23505')
        throw new MfaError('PASSKEY_ALREADY_REGISTERED', 'this passkey is already registered');
      throw err;
    }
  }

  /** Stores a confirmed factor; the user's first one comes with a fresh set of recovery codes. One transaction, audited. */
  private async added(
    user: MfaUser,
    f: { id: string; kind: FactorRow['kind']; label: string },
    store: (m: Queryable) => Promise<void>,
  ): Promise<{ factor: FactorView; recoveryCodes?: string[] }> {
    const codes = await this.d.ds.transaction(async (m) => {
      const first = (await this.d.repo.confirmedCount(m, user.tenantId, user.id)) === 0;
      await store(m);
      const fresh = first ? newRecoveryCodes() : undefined;
      if (fresh)
        await this.d.repo.replaceRecoveryCodes(
          m,
          user.tenantId,
          user.id,
          fresh.map((x) => hashRecoveryCode(normalizeRecoveryCode(x)!)),
        );
      await this.d.audit.append(
        user.tenantId,
        {
          actor: actorOf(user.id),
          action: 'admin_user.mfa_factor_added',
          target: `admin_user:${user.id}`,
          outcome: 'success',
          details: { factorId: f.id, kind: f.kind, label: f.label, recoveryCodesIssued: fresh?.length ?? 0 },
        },
        m,
      );
      return fresh;
    });
    const row = await this.d.repo.factor(user.tenantId, user.id, f.id);
    return { factor: factorView(row!), ...(codes ? { recoveryCodes: codes } : {}) };
  }
}

/**
 * What a sign-in must do after the password, or null for nothing. Key admins under `passkey_required_for_key_admins`
 * may only use a passkey (TOTP and recovery codes are phishable); without one they must enrol one.
 */
export function signInPlan(
  role: AdminRole,
  policy: MfaPolicy,
  factors: FactorRow[],
  recoveryCodes: number,
): { mode: 'verify' | 'enrol'; methods: MfaMethod[]; passkeyRequired: boolean } | null {
  const passkeyRequired = policy === 'passkey_required_for_key_admins' && role === 'key_admin';
  const required = policy !== 'none' || factors.length > 0;
  if (!required) return null;
  const methods: MfaMethod[] = [];
  if (factors.some((f) => f.kind === 'passkey')) methods.push('passkey');
  if (!passkeyRequired) {
    if (factors.some((f) => f.kind === 'totp')) methods.push('totp');
    if (factors.length > 0 && recoveryCodes > 0) methods.push('recovery_code');
  }
  if (methods.length) return { mode: 'verify', methods, passkeyRequired };
  return { mode: 'enrol', methods: passkeyRequired ? ['passkey'] : ['passkey', 'totp'], passkeyRequired };
}

const aad = (user: Pick<MfaUser, 'tenantId' | 'id'>, factorId: string) =>
  `keyhold-totp\n${user.tenantId}\n${user.id}\n${factorId}`;

function cleanLabel(label: string | undefined, fallback: string): string {
  const s = (label ?? '')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, LABEL_MAX);
  return s || fallback;
}

function badCode(): MfaError {
  return new MfaError('MFA_CODE_INVALID', 'the code is not right (or was already used)');
}

function passkeyRequired(): MfaError {
  return new MfaError(
    'PASSKEY_REQUIRED',
    'this tenant requires key admins to sign in with a passkey; TOTP and recovery codes are not accepted',
  );
}

/** The library's reason, minus anything that echoes the request (it can quote client data). */
function webauthnReason(err: unknown): string {
  const m = String((err as Error)?.message ?? err);
  if (/challenge/i.test(m)) return 'the challenge does not match';
  if (/origin/i.test(m)) return 'the origin is not allowed';
  if (/RP ID|rpID|rpIdHash/i.test(m)) return 'the relying party does not match';
  if (/counter/i.test(m)) return 'the signature counter did not advance';
  if (/user verif/i.test(m)) return 'user verification is required';
  if (/signature/i.test(m)) return 'the signature does not verify';
  return 'the answer is malformed or does not verify';
}
