export { MfaError, MfaErrorCode, MFA_ERROR_STATUS } from './errors';
export { MfaRepository, MfaPolicy, MFA_POLICIES, FactorView, FactorKind } from './mfa.repository';
export { MfaChallenges, PendingSignIn } from './challenges';
export {
  MfaService,
  MfaDeps,
  MfaUser,
  MfaAudit,
  MfaChallengeAnswer,
  MfaMethod,
  SignedIn,
  signInPlan,
} from './mfa.service';
export { SecretBox } from './secret-box';
export { newRecoveryCodes, normalizeRecoveryCode, hashRecoveryCode, RECOVERY_CODE_COUNT } from './recovery-codes';
export { newTotpSecret, totpStep, TOTP_PERIOD_SECONDS } from './totp';
