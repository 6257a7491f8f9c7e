export { KekCache, KekId, KekCacheStats, InvalidationListener, InvalidationReason } from './kek-cache';
export { KekInvalidationBus } from './invalidation-bus';
export type { WorkspaceKeyEvent } from './invalidation-bus';
