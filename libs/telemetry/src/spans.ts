import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

export type SpanAttributes = Attributes;

const tracer = () => trace.getTracer('keyhold');

/**
 * Runs `fn` inside a span that is active for everything it awaits (KMS calls started inside nest under it). A throw
 * marks the span as an error with `describeError(err)` as its message — callers pass a function that names an error
 * class, never one that prints SDK messages (they may echo request data).
 */
export function inSpan<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: Span) => Promise<T>,
  describeError: (err: unknown) => string = (err) => (err instanceof Error ? err.name : 'error'),
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      const result = await fn(span);
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: describeError(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
