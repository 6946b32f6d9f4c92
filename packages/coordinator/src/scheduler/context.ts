import type { PipelineSpec } from '@hiveforge/sdk';
import type { RunRecord, Store } from '../store/types.js';
import type { ResolvedSchedulerConfig } from './config.js';

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
}

/** The fields of a run fixed when it is created. */
export type RunOrigin = Pick<RunRecord, 'pipeline' | 'versionId' | 'trigger'>;

/** Reads what never changes of a run, through the cache; null for an unknown run. */
export async function originOf(ctx: SchedulerContext, runId: string): Promise<RunOrigin | null> {
  const cached = ctx.origins.get(runId);
  if (cached) return cached;
  const run = await ctx.store.getRun(runId);
  if (!run) return null;
  if (ctx.origins.size >= 1_024) ctx.origins.delete(ctx.origins.keys().next().value as string);
  const origin = { pipeline: run.pipeline, versionId: run.versionId, trigger: run.trigger };
  ctx.origins.set(runId, origin);
  return origin;
}

/** Reads the spec of a pipeline version, through the cache. */
export async function specOf(ctx: SchedulerContext, versionId: string): Promise<PipelineSpec | null> {
  const cached = ctx.specs.get(versionId);
  if (cached) return cached;
  const version = await ctx.store.getPipelineVersion(versionId);
  if (!version) return null;
  if (ctx.specs.size >= 256) ctx.specs.delete(ctx.specs.keys().next().value as string);
  ctx.specs.set(versionId, version.spec);
  return version.spec;
}

/** Topics of store wake-ups. */
export const Topics = {
  /** A job became queued: waiting pulls should look again. */
  queue: 'queue',
  /** Something changed in a run: watchers should look again. */
  run: (runId: string) => `run:${runId}`,
} as const;
