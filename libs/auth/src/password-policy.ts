/**
 * What a password chosen at invitation acceptance, change or reset must be. Length is what matters (NIST SP
 * 800-63B §5.1.1.2): at least 12 characters, no composition rules, but refuse the obviously guessable — too few
 * distinct characters, the account's own email, and a short list of the most common choices.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 1024;

const COMMON = new Set([
  'password1234',
  'passwordpassword',
  '123456789012',
  'qwertyuiopas',
  'iloveyou1234',
  'letmeinletmein',
  'administrator',
  'correcthorsebatterystaple',
  'keyholdkeyhold',
  'changemechangeme',
  'welcome12345',
  'trustno1trustno1',
]);

/** Null when acceptable, otherwise why not (safe to show: never echoes the password). */
export function passwordProblem(password: string, email: string): string | null {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN_LENGTH)
    return `the password must be at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `the password must be at most ${PASSWORD_MAX_LENGTH} characters`;
  const folded = password.normalize('NFKC').toLowerCase();
  if (new Set(folded).size < 5) return 'the password repeats too few different characters';
  if (COMMON.has(folded.replace(/[^a-z0-9]/g, ''))) return 'the password is too common';
  const local = email.toLowerCase().split('@')[0];
  if (local.length >= 4 && folded.includes(local)) return 'the password must not contain the email address';
  return null;
}
