export {
  KekCache,
  KekId,
  KekCacheStats,
  InvalidationListener,
  InvalidationReason,
  PlaintextInspection,
  DEK_ENTRY_BYTES,
  DEK_SLOT_BYTES,
} from './kek-cache';
export { KekInvalidationBus } from './invalidation-bus';
export type { WorkspaceKeyEvent } from './invalidation-bus';
export { KekCacheModule, KekPublisherModule } from './kek-cache.module';
