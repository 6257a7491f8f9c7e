import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';

/** The injection token of the process's pino logger. */
export const LOGGER = 'keyhold:logger';

/** Constructor parameter decorator: `@InjectLogger() log: Logger`. */
export const InjectLogger = (): ParameterDecorator => Inject(LOGGER);

/**
 * The one redaction list of every Keyhold process: authorization headers, secrets, passwords, client secrets and
 * any key material are replaced before a line is written (a log line must never carry a key).
 */
export const REDACT_PATHS: readonly string[] = [
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

/** A structured logger of one Keyhold process (`name`: keyhold-api, keyhold-worker) with the redaction list. */
export function createLogger(name: string, level: string, destination?: DestinationStream): Logger {
  return pino(
    { name, level, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' }, base: { pid: process.pid } },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export interface LoggerModuleOptions {
  /** The process's name in every line. */
  readonly name: string;
  readonly level: string;
  /** Where lines go (tests capture them to prove nothing secret is written); default stdout. */
  readonly destination?: DestinationStream;
  /** A logger built by the caller (tests, benchmarks); it is the caller's to flush. */
  readonly logger?: Logger;
}

@Injectable()
class LoggerFlush implements OnApplicationShutdown {
  constructor(@Inject(LOGGER) private readonly log: Logger) {}

  onApplicationShutdown(): void {
    this.log.flush?.();
  }
}

/** The process's logger, built once by the root (global: every module injects the same instance). */
@Module({})
export class LoggerModule {
  static forRoot(options: LoggerModuleOptions): DynamicModule {
    return {
      module: LoggerModule,
      global: true,
      providers: [
        { provide: LOGGER, useValue: options.logger ?? createLogger(options.name, options.level, options.destination) },
        LoggerFlush,
      ],
      exports: [LOGGER],
    };
  }
}

/** Name and code of an error, never its full object (SDK errors can carry request data). */
export function errorSummary(err: unknown): { name: string; message: string; code?: string } {
  const e =
    typeof err === 'object' && err !== null ? (err as { name?: unknown; message?: unknown; code?: unknown }) : {};
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: String(e.message ?? err).slice(0, 500),
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: String(e.code) } : {}),
  };
}
