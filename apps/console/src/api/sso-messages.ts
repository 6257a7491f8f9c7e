/** What each SSO error code means for the person in front of the screen. */
export const SSO_SUMMARIES: Record<string, string> = {
  SSO_NOT_CONFIGURED:
    'Single sign-on is not set up for this tenant. Check the tenant id, or sign in with your password.',
  SSO_UNAVAILABLE: 'Single sign-on is not available on this Keyhold installation right now.',
  SSO_CONFIG_INVALID: 'The SSO settings are incomplete: a client secret is needed the first time.',
  SSO_ISSUER_REJECTED:
    'The issuer URL is not accepted: it must be an https URL of your identity provider, without a query string.',
  SSO_ISSUER_UNREACHABLE: "Keyhold could not read the identity provider's discovery document at that issuer URL.",
  SSO_BREAK_GLASS_INVALID:
    'Requiring SSO needs a break-glass key admin: an enabled key admin who may still sign in with a password.',
  SSO_STATE_INVALID: 'This sign-in attempt expired, was already used, or was started in another browser. Start again.',
  SSO_IDP_ERROR: 'Your identity provider did not sign you in.',
  SSO_CODE_REJECTED: 'Your identity provider refused to complete this sign-in. Start again.',
  SSO_TOKEN_REJECTED: 'The identity provider’s answer did not pass Keyhold’s checks, so you were not signed in.',
  SSO_EMAIL_MISSING: 'Your identity provider did not send a verified email address.',
  SSO_EMAIL_DOMAIN_NOT_ALLOWED: 'Your email domain is not allowed to sign in to this tenant.',
  SSO_NO_ROLE_MAPPING:
    'None of your groups gives you a role in this tenant. Ask your administrator to add you to a mapped group.',
  SSO_ACCOUNT_DISABLED: 'Your Keyhold user in this tenant is disabled.',
  SSO_IDENTITY_MISMATCH: 'This email address belongs to a Keyhold user linked to another identity-provider account.',
  SSO_LAST_KEY_ADMIN:
    'Your identity provider’s groups would leave this tenant without a key admin, so the sign-in was stopped.',
  SSO_HANDOFF_INVALID: 'The single sign-on could not be completed in this browser. Start again.',
  SSO_REQUIRED: 'This tenant requires single sign-on. Use “Sign in with SSO”.',
};
