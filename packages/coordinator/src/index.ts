/**
 * `@hiveforge/coordinator`: the stateless coordinator. It analyzes pipelines statically,
 * schedules their jobs through decisions in a Store, and serves the tRPC API.
 *
 * @example
 * ```ts
 * import { createCoordinator, createMemoryStore } from '@hiveforge/coordinator';
 *
 * await using coordinator = await createCoordinator({ store: createMemoryStore(), agentSecret: 's3cret' });
 * console.log(coordinator.url);
 * ```
 *
 * @module
 */
export {
  AnalysisFailedError,
  analyzePipeline,
  createAnalyzer,
  formatDiagnostic,
  renderGraph,
  type AnalysisResult,
  type AnalyzeInput,
  type Analyzer,
  type Diagnostic,
} from './analyzer/index.js';
export { createManualClock, preciseSystemClock, systemClock, type Clock, type ManualClock } from './clock.js';
export { checkArchive, createArchiveCheck } from '@hiveforge/archive';
export { MAX_ARTIFACT_BYTES } from './artifacts.js';
export {
  DEFAULT_CACHE_LIMIT_BYTES,
  MAX_CACHE_ENTRY_BYTES,
  createCacheService,
  resolveCachesConfig,
  type CachesOptions,
  type CacheService,
  type ResolvedCachesConfig,
} from './caches/cache-service.js';
export { createDirectoryCaches } from './store/directory-caches.js';
export { hashToken, type Caller } from './auth.js';
export { LOG_LIMITS } from './routers/agent.js';
export type { AppRouter } from './routers/app.js';
export { appRouter } from './routers/app.js';
export type { ClusterEvent, FeedEvent } from './routers/events.js';
export type { RunEvent, RunEventBatch } from './run-watcher.js';
export type { JobView, RunView } from './run-view.js';
export { STALE_REASON, type MaybeStale, type StaleMarker } from './stale-reads.js';
export {
  createReadCache,
  resolveReadCacheConfig,
  type CachedRead,
  type ReadCache,
  type ReadCacheOptions,
  type ResolvedReadCacheConfig,
} from './read-cache.js';
export {
  createScheduler,
  resolveSchedulerConfig,
  scheduleIdOf,
  DecisionIds,
  type AttemptRecord,
  type AttemptResult,
  type Lease,
  type LeaseStatus,
  type ResolvedSchedulerConfig,
  type Scheduler,
  type SchedulerOptions,
} from './scheduler/index.js';
export { createCoordinator, type Coordinator, type CoordinatorOptions } from './server.js';
export { DEFAULT_BLOB_GRACE_MS, createBlobSweeper, type BlobSweeper, type BlobSweeperOptions } from './blob-sweeper.js';
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './store/memory.js';
export {
  createBlobMeter,
  isSha256,
  type BlobStore,
  type OpenedBlob,
  type PutBlobOptions,
  type PutBlobResult,
} from './store/blobs.js';
export { createFileBlobStore, type FileBlobStoreOptions } from './store/blob-files.js';
export * from './store/types.js';
export {
  BOOTSTRAP_ADMIN_TOKEN_ID,
  createUserToken,
  issueUserToken,
  putBootstrapAdminToken,
  type IssuedToken,
  type UserTokenOptions,
} from './tokens.js';
export {
  type EncryptedSecret,
  type SecretAddress,
  type SecretsCipher,
  type SecretsCipherOptions,
  SECRETS_KEY_BYTES,
  createSecretsCipher,
  parseSecretsKey,
} from './secrets/cipher.js';
