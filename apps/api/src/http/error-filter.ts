import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { errorSummary } from '@app/telemetry';
import { toErrorReply } from './errors';

/** The single exception filter: every error leaves as `{"error": {"code", "message"}}`, never a stack trace. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    sendError(reply, exception, this.log);
  }
}

export function sendError(reply: FastifyReply, err: unknown, log: Logger): void {
  const r = toErrorReply(err);
  if (r.internal) log.error({ err: errorSummary(err) }, 'request failed');
  if (reply.sent) return;
  if (r.headers) for (const [k, v] of Object.entries(r.headers)) reply.header(k, v);
  reply
    .status(r.status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(r.body);
}
