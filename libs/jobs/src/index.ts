export {
  OperationKind,
  OPERATION_KINDS,
  REQUESTABLE_KINDS,
  JobName,
  QueueName,
  ROUTES,
  OperationJobData,
  ProbeJobData,
  BulkJobData,
  isOperationKind,
} from './contracts';
export { OperationDispatcher, bulkJobId } from './dispatcher';

// Worker side (jobs engineer): the runtime the worker process starts, observability, and the pieces tests drive.
export { JobsRuntime, JobsRuntimeOptions, JobsRuntimeDeps, JobsLogger } from './runtime';
export { JobMetrics, JobOutcome } from './observability/job-metrics';
export { mountQueueDashboard, QueueDashboardOptions } from './observability/queue-dashboard';
export { ProviderResolver, JobProvider, KeyCrypto, DekAad, KekCacheControl, AuditSink, BulkRunner } from './ports';
export { StepHook, OperationHandler, OperationContext, HandlerResult } from './engine/operation-handler';
export { HandlerRegistry, MissingHandlersError } from './engine/handler-registry';
export { backoffDelay, BackoffPolicy } from './engine/backoff';
export { RedisTokenBucket, BucketSpec } from './engine/token-bucket';
export { ProviderGate, ProviderRateLimits, DEFAULT_RATE_LIMITS } from './engine/provider-gate';
export {
  ConfirmationPolicy,
  decide,
  Decision,
  Verdict,
  ProbeResult,
  ControlVerdict,
} from './revocation/confirmation-policy';
export { OperationFailure, OperationFailureCode } from './operations/operation-errors';
export { VendorCanary, CanaryTarget, CanaryResult } from './revocation/vendor-canary';
export { RotationLimits } from './scheduling/rotation-check';
export { SiemRuntime, SIEM_QUEUE, SiemJobData } from './siem/siem-runtime';
export { JobsModule } from './jobs.module';
