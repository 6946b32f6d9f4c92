/**
 * The Store port: all of HiveForge's state, one port per aggregate (`ports/<aggregate>.ts`, each
 * with its records), composed here. Callers that need all of it take a `Store`; each aggregate's
 * interface names what a part of the store does.
 */
import type { AgentStore } from './ports/agents.js';
import type { BlobStore } from './blobs.js';
import type { BlobCollectionStore } from './ports/blob-collection.js';
import type { ArtifactStore } from './ports/artifacts.js';
import type { CacheStore } from './ports/caches.js';
import type { DecisionStore } from './ports/decisions.js';
import type { EventStore } from './ports/events.js';
import type { JobStore } from './ports/jobs.js';
import type { LogStore } from './ports/logs.js';
import type { PipelineStore } from './ports/pipelines.js';
import type { RunStore } from './ports/runs.js';
import type { ScheduleStore } from './ports/schedules.js';
import type { SecretStore } from './ports/secrets.js';
import type { TokenStore } from './ports/tokens.js';
import type { WakeupStore } from './ports/wakeups.js';

export * from './ports/agents.js';
export * from './ports/artifacts.js';
export * from './ports/blob-collection.js';
export * from './ports/caches.js';
export * from './ports/decisions.js';
export * from './ports/events.js';
export * from './ports/jobs.js';
export * from './ports/logs.js';
export * from './ports/pipelines.js';
export * from './ports/runs.js';
export * from './ports/schedules.js';
export * from './ports/secrets.js';
export * from './ports/tokens.js';
export * from './ports/wakeups.js';

/**
 * The Store port: all of HiveForge's state. Adapters: `memory` (embedded, tests) and `mongodb`
 * (production). Every adapter passes the same contract tests (`store/contract.ts`).
 */
export interface Store
  extends DecisionStore,
    PipelineStore,
    RunStore,
    JobStore,
    LogStore,
    ArtifactStore,
    CacheStore,
    BlobStore,
    BlobCollectionStore,
    AgentStore,
    TokenStore,
    SecretStore,
    ScheduleStore,
    EventStore,
    WakeupStore {
  /**
   * One cheap round trip to the store (MongoDB's `ping`), for readiness checks: resolves when
   * the store answers, rejects with a `StoreUnavailableError` when it cannot be reached.
   */
  ping(): Promise<void>;

  close(): Promise<void>;
}
