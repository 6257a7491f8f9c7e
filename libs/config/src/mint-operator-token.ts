import { randomBytes } from 'node:crypto';
import { OPERATOR_TOKEN_NAME_RE, operatorTokenEntryLine } from './operator-tokens';

/**
 * `npm run operator-token -- --name <name> [--days <n>]`: mints a platform operator token. Prints the token once (hand
 * it to its holder through your secret channel) and the entry to append to KEYHOLD_OPERATOR_TOKENS, which holds only
 * its SHA-256. Keyhold never stores or logs the token itself.
 */
function main(argv: string[]): void {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const name = arg('--name');
  const days = arg('--days') === undefined ? 90 : Number(arg('--days'));
  if (!name || !OPERATOR_TOKEN_NAME_RE.test(name)) fail('--name is required: 1-64 letters, digits, _ . or -');
  if (!Number.isInteger(days) || days < 0 || days > 3650)
    fail('--days must be an integer from 0 (never expires) to 3650');
  const token = randomBytes(32).toString('base64url');
  const expiresAt = days === 0 ? null : new Date(Date.now() + days * 86_400_000);
  process.stdout.write(
    `token (shown once): ${token}\n` +
      `KEYHOLD_OPERATOR_TOKENS entry:   ${operatorTokenEntryLine(name, token, expiresAt)}\n` +
      `${expiresAt ? `expires: ${expiresAt.toISOString()}` : 'never expires'}\n`,
  );
}

function fail(message: string): never {
  process.stderr.write(`operator-token: ${message}\n`);
  process.exit(2);
}

main(process.argv.slice(2));
