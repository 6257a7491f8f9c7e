import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export interface TracingOptions {
  /** `service.name` of the spans: keyhold-api, keyhold-worker. */
  serviceName: string;
  /** Where the OTLP settings come from (the standard OTEL_EXPORTER_OTLP_* variables). */
  env?: NodeJS.ProcessEnv;
  /** An exporter of the caller's (tests: an in-memory exporter, exported span by span). */
  exporter?: SpanExporter;
}

export interface TracingHandle {
  readonly enabled: boolean;
  /** Flushes what is buffered and stops exporting (graceful shutdown). */
  shutdown(): Promise<void>;
}

/**
 * Process-wide tracing, off unless configured: with no exporter and neither `OTEL_EXPORTER_OTLP_ENDPOINT` nor
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, nothing is registered and every span Keyhold starts is the API's no-op
 * span (no allocation beyond it, no export). Configured, spans go through a batch processor to the OTLP/HTTP
 * exporter, which reads the standard OTEL_EXPORTER_OTLP_* variables itself (endpoint, headers, timeout).
 *
 * What spans carry: cloud, operation, error class, ids of tenants, workspaces, operations and key configurations,
 * key identifiers (ARNs, key URLs, resource names). Never key material, tokens, secrets or request bodies.
 */
export function startTracing(options: TracingOptions): TracingHandle {
  const env = options.env ?? process.env;
  const configured = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!options.exporter && !configured) return { enabled: false, shutdown: async () => undefined };
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName }),
    spanProcessors: [processor],
  });
  // Registers the provider globally with an AsyncLocalStorage context manager, so a KMS call's span nests under
  // the request or job that caused it.
  provider.register();
  return {
    enabled: true,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
    },
  };
}
