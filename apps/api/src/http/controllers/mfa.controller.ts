import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Post, Put } from '@nestjs/common';
import { MFA_POLICIES, MfaError, type AccessClaims, type MfaPolicy, MfaService, TokenService } from '@app/auth';
import { isUuid } from '@app/persistence';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { z } from 'zod';
import { AdminRoute, Claims } from '../auth';
import { parseBody } from '../validation';

const mfaToken = z.string().min(1).max(128);
const totpCode = z.string().min(1).max(16);
const label = z.string().max(64).optional();
const b64u = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'base64url');
// The browser's PublicKeyCredential as JSON (@simplewebauthn/browser); the library verifies its content.
const credentialBase = {
  id: b64u.min(1).max(1024),
  rawId: b64u.min(1).max(1024),
  type: z.literal('public-key'),
  clientExtensionResults: z.record(z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
};
const registrationCredential = z
  .object({
    ...credentialBase,
    response: z
      .object({
        clientDataJSON: b64u,
        attestationObject: b64u,
        authenticatorData: b64u.optional(),
        transports: z.array(z.string().max(32)).max(10).optional(),
        publicKeyAlgorithm: z.number().int().optional(),
        publicKey: b64u.optional(),
      })
      .strict(),
  })
  .strict();
const authenticationCredential = z
  .object({
    ...credentialBase,
    response: z
      .object({ clientDataJSON: b64u, authenticatorData: b64u, signature: b64u, userHandle: b64u.optional() })
      .strict(),
  })
  .strict();

export const mfaSchemas = {
  challenge: z.object({ mfa_token: mfaToken }).strict(),
  signInCode: z.object({ mfa_token: mfaToken, code: totpCode }).strict(),
  signInRecoveryCode: z.object({ mfa_token: mfaToken, code: z.string().min(1).max(64) }).strict(),
  signInPasskey: z.object({ mfa_token: mfaToken, credential: authenticationCredential }).strict(),
  signInEnrolTotp: z.object({ mfa_token: mfaToken, label }).strict(),
  signInConfirmTotp: z.object({ mfa_token: mfaToken, factorId: z.string().uuid(), code: totpCode }).strict(),
  signInEnrolPasskey: z.object({ mfa_token: mfaToken, credential: registrationCredential, label }).strict(),
  startTotp: z.object({ label }).strict(),
  confirmTotp: z.object({ code: totpCode }).strict(),
  empty: z.object({}).strict(),
  registerPasskey: z.object({ credential: registrationCredential, label }).strict(),
  policy: z.object({ policy: z.enum(MFA_POLICIES as [MfaPolicy, ...MfaPolicy[]]) }).strict(),
};

/** A factor id that is not a uuid names nothing. */
function factorId(id: string): string {
  if (!isUuid(id)) throw new MfaError('MFA_FACTOR_NOT_FOUND', 'no factor with this id');
  return id.toLowerCase();
}

/**
 * The second step of an admin's sign-in. Public like the token endpoint: the `mfa_token` a right password earned
 * is the only credential, and it opens nothing but these routes. Every call spends the per-address budget of the
 * credential routes; wrong codes also spend the challenge's few attempts and the user's own budget.
 */
@Controller('v1/auth/mfa')
export class MfaSignInController {
  constructor(
    private readonly tokens: TokenService,
    private readonly mfa: MfaService,
  ) {}

  @Post('totp')
  @HttpCode(200)
  async totp(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const b = parseBody(mfaSchemas.signInCode, body);
    return this.mfa.verifyTotp(b.mfa_token, b.code);
  }

  @Post('recovery-code')
  @HttpCode(200)
  async recoveryCode(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const b = parseBody(mfaSchemas.signInRecoveryCode, body);
    return this.mfa.verifyRecoveryCode(b.mfa_token, b.code);
  }

  @Post('passkey/options')
  @HttpCode(200)
  async passkeyOptions(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    return this.mfa.passkeySignInOptions(parseBody(mfaSchemas.challenge, body).mfa_token);
  }

  @Post('passkey')
  @HttpCode(200)
  async passkey(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const b = parseBody(mfaSchemas.signInPasskey, body);
    return this.mfa.verifyPasskey(b.mfa_token, b.credential);
  }

  @Post('enrol/totp')
  @HttpCode(200)
  async enrolTotp(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const b = parseBody(mfaSchemas.signInEnrolTotp, body);
    return this.mfa.startTotpAtSignIn(b.mfa_token, b.label);
  }

  @Post('enrol/totp/confirm')
  @HttpCode(200)
  async enrolTotpConfirm(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const b = parseBody(mfaSchemas.signInConfirmTotp, body);
    return this.mfa.confirmTotpAtSignIn(b.mfa_token, b.factorId.toLowerCase(), b.code);
  }

  @Post('enrol/passkey/options')
  @HttpCode(200)
  async enrolPasskeyOptions(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    return this.mfa.passkeyRegistrationOptionsAtSignIn(parseBody(mfaSchemas.challenge, body).mfa_token);
  }

  @Post('enrol/passkey')
  @HttpCode(200)
  async enrolPasskey(@Body() body: unknown, @Ip() ip: string) {
    await this.tokens.throttle.address(ip);
    const b = parseBody(mfaSchemas.signInEnrolPasskey, body);
    return this.mfa.registerPasskeyAtSignIn(b.mfa_token, b.credential as unknown as RegistrationResponseJSON, b.label);
  }
}

/**
 * The signed-in admin's own factors (any role), a key admin's reset of another admin's factors, and the tenant's
 * MFA policy. Enrolment and removal need a recent sign-in (FRESH_AUTH_REQUIRED otherwise); every change is audited
 * in the transaction that makes it.
 */
@Controller('v1/tenants/:tenantId')
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  @Get('me/mfa')
  @AdminRoute('key_admin', 'auditor')
  status(@Claims() c: AccessClaims) {
    return this.mfa.status(c);
  }

  @Post('me/mfa/totp')
  @HttpCode(201)
  @AdminRoute('key_admin', 'auditor')
  startTotp(@Claims() c: AccessClaims, @Body() body: unknown) {
    return this.mfa.startTotp(c, parseBody(mfaSchemas.startTotp, body).label);
  }

  @Post('me/mfa/totp/:factorId/confirm')
  @HttpCode(200)
  @AdminRoute('key_admin', 'auditor')
  confirmTotp(@Claims() c: AccessClaims, @Param('factorId') id: string, @Body() body: unknown) {
    const fid = factorId(id);
    return this.mfa.confirmTotp(c, fid, parseBody(mfaSchemas.confirmTotp, body).code);
  }

  @Post('me/mfa/passkeys/options')
  @HttpCode(200)
  @AdminRoute('key_admin', 'auditor')
  passkeyOptions(@Claims() c: AccessClaims, @Body() body: unknown) {
    parseBody(mfaSchemas.empty, body);
    return this.mfa.passkeyRegistrationOptions(c);
  }

  @Post('me/mfa/passkeys')
  @HttpCode(201)
  @AdminRoute('key_admin', 'auditor')
  registerPasskey(@Claims() c: AccessClaims, @Body() body: unknown) {
    const b = parseBody(mfaSchemas.registerPasskey, body);
    return this.mfa.registerPasskey(c, b.credential as unknown as RegistrationResponseJSON, b.label);
  }

  @Delete('me/mfa/factors/:factorId')
  @HttpCode(204)
  @AdminRoute('key_admin', 'auditor')
  async removeFactor(@Claims() c: AccessClaims, @Param('factorId') id: string) {
    await this.mfa.removeFactor(c, factorId(id));
  }

  @Post('me/mfa/recovery-codes')
  @HttpCode(201)
  @AdminRoute('key_admin', 'auditor')
  recoveryCodes(@Claims() c: AccessClaims, @Body() body: unknown) {
    parseBody(mfaSchemas.empty, body);
    return this.mfa.regenerateRecoveryCodes(c);
  }

  @Delete('admin-users/:id/mfa')
  @HttpCode(200)
  @AdminRoute('key_admin')
  resetUser(@Claims() c: AccessClaims, @Param('id') id: string) {
    if (!isUuid(id)) throw new MfaError('ADMIN_USER_NOT_FOUND', 'admin user not found');
    return this.mfa.resetUser(c, id.toLowerCase());
  }

  @Get('mfa-policy')
  @AdminRoute('key_admin', 'auditor')
  policy(@Claims() c: AccessClaims) {
    return this.mfa.policy(c.tid);
  }

  @Put('mfa-policy')
  @AdminRoute('key_admin')
  setPolicy(@Claims() c: AccessClaims, @Body() body: unknown) {
    return this.mfa.setPolicy(c, parseBody(mfaSchemas.policy, body).policy);
  }
}
