export { startTracing, TracingHandle, TracingOptions } from './tracing';
export { inSpan, SpanAttributes } from './spans';
export {
  LoggerModule,
  LoggerModuleOptions,
  LOGGER,
  InjectLogger,
  REDACT_PATHS,
  createLogger,
  errorSummary,
} from './logger.module';
