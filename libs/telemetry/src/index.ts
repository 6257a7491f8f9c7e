export { startTracing, TracingHandle, TracingOptions } from './tracing';
export { inSpan, SpanAttributes } from './spans';
