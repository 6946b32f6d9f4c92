/**
 * The store's collections and the indexes its queries need.
 */
import type { Db, Document } from 'mongodb';
import { isMongoUnavailable } from './driver-errors.js';

/**
 * The collections of the store; GridFS adds `blobs.files` and `blobs.chunks` (the bytes of
 * artifacts and cache entries, `blobs.ts`).
 */
export const Collections = {
  decisions: 'decisions',
  pipelineVersions: 'pipeline_versions',
  pipelines: 'pipelines',
  pipelineHistory: 'pipeline_history',
  runs: 'runs',
  jobs: 'jobs',
  readyJobs: 'ready_jobs',
  activeJobs: 'active_jobs',
  runJobs: 'run_jobs',
  runNumbers: 'run_numbers',
  logChunks: 'log_chunks',
  artifacts: 'artifacts',
  agents: 'agents',
  tokens: 'tokens',
  wakeups: 'wakeups',
  schedules: 'schedules',
  events: 'events',
  cacheEntries: 'cache_entries',
} as const;

/** Topics not notified for this long are deleted; a later notify creates them again. */
export const WAKEUP_RETENTION_MS = 60_000;

/**
 * Creates the indexes the store's queries need. `createIndex` is idempotent, so every
 * coordinator does this at start.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  // Queued and active jobs are found through the `ready_jobs` and `active_jobs` hints, which
  // are small; a pull reads the oldest ready hints first, by `readyAt`.
  const plain: [string, Document, { unique?: boolean }?][] = [
    [Collections.jobs, { runId: 1 }],
    [Collections.readyJobs, { readyAt: 1, jobId: 1 }],
    // Descending where the query sorts newest first.
    [Collections.runs, { pipeline: 1, number: -1 }],
    [Collections.runs, { createdAt: -1 }],
    [Collections.runs, { status: 1, createdAt: -1 }],
    [Collections.logChunks, { jobId: 1, attempt: 1, seq: 1 }],
    [Collections.pipelineHistory, { pipeline: 1, createdAt: -1, _id: -1 }],
    [Collections.agents, { tokenHash: 1 }, { unique: true }],
    [Collections.agents, { state: 1, lastHeartbeatAt: 1 }],
    [Collections.artifacts, { runId: 1 }],
    [Collections.artifacts, { sha256: 1 }],
    [Collections.schedules, { enabled: 1, nextFireAt: 1 }],
    [Collections.schedules, { pipeline: 1 }],
    [Collections.cacheEntries, { pipeline: 1, version: 1 }],
    [Collections.cacheEntries, { sha256: 1 }],
    // `events` is read and pruned by `_id` ranges: the `_id` index serves it.
  ];
  for (const [name, keys, options] of plain) await db.collection(name).createIndex(keys, options ?? {});
  const wakeups = db.collection(Collections.wakeups);
  try {
    await wakeups.createIndex({ at: 1 }, { expireAfterSeconds: WAKEUP_RETENTION_MS / 1000 });
  } catch (error) {
    // FerretDB has no TTL indexes (and an operator may have changed the TTL): the pollers'
    // periodic delete removes old wake-ups either way, so an index on `at` is all that's needed.
    if (isMongoUnavailable(error)) throw error;
    await wakeups.createIndex({ at: 1 }).catch((second: unknown) => {
      if (isMongoUnavailable(second)) throw second;
    });
  }
}
