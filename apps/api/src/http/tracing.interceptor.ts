import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { context as otelContext, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, tap } from 'rxjs';

/**
 * One server span per admin API request (Nest routes only: the DEK hot path is plain Fastify and never runs this),
 * named by method and route template, with the status code. The handler runs with the span active, so use cases'
 * KMS calls nest under it. No path parameters beyond the template, no query, no body, no headers.
 */
@Injectable()
export class TracingInterceptor implements NestInterceptor {
  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const reply = ctx.switchToHttp().getResponse<FastifyReply>();
    const route = req.routeOptions.url ?? 'unmatched';
    const span = trace.getTracer('keyhold').startSpan(`${req.method} ${route}`, {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'http.route': route },
    });
    const end = (status: number, error?: string) => {
      span.setAttribute('http.response.status_code', status);
      span.setStatus(error ? { code: SpanStatusCode.ERROR, message: error } : { code: SpanStatusCode.UNSET });
      span.end();
    };
    return otelContext.with(trace.setSpan(otelContext.active(), span), () =>
      next.handle().pipe(
        tap({
          next: () => end(reply.statusCode),
          error: (err: unknown) => end(statusOf(err), err instanceof Error ? err.name : 'error'),
        }),
      ),
    );
  }
}

function statusOf(err: unknown): number {
  const s = (err as { getStatus?: () => number; status?: number }).getStatus?.() ?? (err as { status?: number }).status;
  return typeof s === 'number' ? s : 500;
}
