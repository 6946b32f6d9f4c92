import type { SecretsCipher } from '../secrets/cipher.js';
import type { PipelineSpec } from '@hiveforge/sdk';
import type { JobRecord, RunRecord, Store } from '../store/types.js';
import type { LocalClaims } from './claims.js';
import type { ResolvedSchedulerConfig } from './config.js';
import type { FreshReads } from './fresh-reads.js';
import type { LeasedJobs } from './leased-jobs.js';
import type { RunProgress } from './run-progress.js';
import type { LeaseGrace } from './lease-grace.js';

/** What every scheduler step needs: the store, the timing and a clock. */
export interface SchedulerContext {
  store: Store;
  config: ResolvedSchedulerConfig;
  now: () => number;
  /**
   * Specs of pipeline versions already read. Versions are content-addressed and never change,
   * so caching them keeps no state that matters: a coordinator that starts empty reads them again.
   */
  specs: Map<string, PipelineSpec>;
  /** What of runs already read never changes: their pipeline, version and trigger. */
  origins: Map<string, RunOrigin>;
  /**
   * Resolutions of runs under way in this coordinator (see `resolveRun`), so that a burst of
   * completions of one run resolves it once rather than once each, all at the same time.
   */
  resolving: Map<string, { again: boolean; done: Promise<void> }>;
  /**
   * What the last resolution of each running run found unfinished (see `RunBlockers`). Only job
   * ids, read again before they are relied on: a coordinator that starts empty loses nothing.
   */
  blockers: Map<string, RunBlockers>;
  /** Reads of blockers by completions, shared while one is in flight (see `FreshReads`). */
  witnesses: FreshReads<JobRecord | null>;
  /** Ready jobs this coordinator's pulls are trying or have just leased (see `LocalClaims`). */
  claims: LocalClaims;
  /** Jobs this coordinator leased, for their completions (see `LeasedJobs`). */
  leased: LeasedJobs;
  /** Leases won here, which show that their runs go on (see `RunProgress`). */
  progress: RunProgress;
  /** Keeps the sweeper from declaring leases lost because of a store outage (see `LeaseGrace`). */
  leaseGrace: LeaseGrace;
  /** Decrypts the secrets leases carry; null or absent: no secrets key, leases carry none. */
  secrets?: SecretsCipher | null;
}

/**
 * Unfinished jobs a run's last resolution found, which let a completion tell with a few reads
 * by id that it frees nothing, instead of reading every job of the run.
 */
export interface RunBlockers {
  /** An unfinished job of the run: while it is unfinished, so is the run. */
  run: string;
  /** For each waiting job (by name), the id of one of its needs that was unfinished. */
  needs: Map<string, string>;
  /** For each job name, the waiting jobs that need it. */
  dependents: Map<string, string[]>;
  /** When this coordinator last read every job of the run, or created them (its clock). */
  seenAt: number;
}

/** The fields of a run fixed when it is created. */
export type RunOrigin = Pick<RunRecord, 'pipeline' | 'versionId' | 'trigger'>;

/**
 * A value of something that never changes once stored, read through a bounded cache (the oldest
 * entry goes first); null, and nothing cached, when `load` finds nothing.
 */
async function throughCache<V>(
  cache: Map<string, V>,
  key: string,
  limit: number,
  load: () => Promise<V | null>,
): Promise<V | null> {
  const cached = cache.get(key);
  if (cached) return cached;
  const value = await load();
  if (value === null) return null;
  remember(cache, key, limit, value);
  return value;
}

/**
 * Sets `key` in a map kept to at most `limit` entries, as its newest: when the map is full, the
 * entry set longest ago goes.
 */
export function remember<K, V>(map: Map<K, V>, key: K, limit: number, value: V): void {
  map.delete(key);
  if (map.size >= limit) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

const ORIGINS = 1_024;
const SPECS = 256;

/**
 * Caches what never changes of a run this coordinator has just stored, and its version's spec:
 * pulls woken by the run's jobs need both, and need not read them back.
 */
export function rememberRun(ctx: SchedulerContext, run: RunRecord, spec: PipelineSpec): void {
  remember(ctx.origins, run._id, ORIGINS, originOfRun(run));
  rememberSpec(ctx, run.versionId, spec);
}

/** Caches the spec of a version this coordinator has just stored (a deploy). */
export function rememberSpec(ctx: SchedulerContext, versionId: string, spec: PipelineSpec): void {
  if (!ctx.specs.has(versionId)) remember(ctx.specs, versionId, SPECS, spec);
}

const originOfRun = (run: RunRecord): RunOrigin => ({
  pipeline: run.pipeline,
  versionId: run.versionId,
  trigger: run.trigger,
});

/** Reads what never changes of a run, through the cache; null for an unknown run. */
export const originOf = (ctx: SchedulerContext, runId: string): Promise<RunOrigin | null> =>
  throughCache(ctx.origins, runId, ORIGINS, async () => {
    const run = await ctx.store.getRun(runId);
    return run && originOfRun(run);
  });

/** Reads the spec of a pipeline version, through the cache. */
export const specOf = (ctx: SchedulerContext, versionId: string): Promise<PipelineSpec | null> =>
  throughCache(ctx.specs, versionId, SPECS, async () => (await ctx.store.getPipelineVersion(versionId))?.spec ?? null);

/**
 * How late other coordinators may hear that something changed in a run: its topic is watched by
 * people (run views, followed logs), and a busy run notifies it for every lease and completion.
 */
const RUN_TOPIC_WITHIN_MS = 250;

/** Wakes the watchers of a run (see `RUN_TOPIC_WITHIN_MS`). */
export const notifyRun = (store: Store, runId: string): void =>
  store.notify(Topics.run(runId), { within: RUN_TOPIC_WITHIN_MS });

/** Topics of store wake-ups. */
export const Topics = {
  /** A job became queued: waiting pulls should look again. */
  queue: 'queue',
  /**
   * An agent was suspended, drained or resumed: waiting pulls read their agent's record again
   * before they lease (one topic for all agents: such changes are rare).
   */
  agents: 'agents',
  /** Something changed in a run: watchers should look again. */
  run: (runId: string) => `run:${runId}`,
} as const;
