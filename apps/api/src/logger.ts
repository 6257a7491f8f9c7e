import pino, { DestinationStream, Logger } from 'pino';

/**
 * Structured logs with redaction configured at start-up: authorization headers, secrets, passwords, client
 * secrets and any key material are replaced before a line is written (a log line must never carry a key).
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
  '*.*.password',
  'client_secret',
  '*.client_secret',
  'clientSecret',
  '*.clientSecret',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'dek',
  '*.dek',
  'kek',
  '*.kek',
  'plaintext',
  '*.plaintext',
  'operatorToken',
  'tokenSecret',
  'hmacKey',
  'signingKey',
  '*.hmacKey',
  '*.signingKey',
  'mfa_token',
  '*.mfa_token',
  'recoveryCodes',
  '*.recoveryCodes',
  'recovery_codes',
  '*.recovery_codes',
  'otpauthUri',
  '*.otpauthUri',
  'secretKey',
  '*.secretKey',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { name: 'keyhold-api', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
