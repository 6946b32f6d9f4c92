import type { PipelineSpec } from '@hiveforge/sdk';
import type { RunRecord } from '../store/types.js';
import { remember } from './bounded-map.js';
import type { RunOrigin, SchedulerContext } from './context.js';

/**
 * A value of something that never changes once stored, read through a bounded cache (the oldest
 * entry goes first); null, and nothing cached, when `load` finds nothing. Callers that miss the
 * cache while a read of the same key is under way (`loading`, by `loadKey`) share that read.
 */
function throughCache<V>(
  loading: Map<string, Promise<unknown>>,
  cache: Map<string, V>,
  key: string,
  loadKey: string,
  limit: number,
  load: () => Promise<V | null>,
): Promise<V | null> {
  const cached = cache.get(key);
  if (cached) return Promise.resolve(cached);
  const under = loading.get(loadKey) as Promise<V | null> | undefined;
  if (under) return under;
  const read = load()
    .then((value) => {
      if (value !== null) remember(cache, key, limit, value);
      return value;
    })
    .finally(() => loading.delete(loadKey));
  loading.set(loadKey, read);
  return read;
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
  throughCache(ctx.loading, ctx.origins, runId, `origin:${runId}`, ORIGINS, async () => {
    const run = await ctx.store.getRun(runId);
    return run && originOfRun(run);
  });

/** Reads the spec of a pipeline version, through the cache. */
export const specOf = (ctx: SchedulerContext, versionId: string): Promise<PipelineSpec | null> =>
  throughCache(
    ctx.loading,
    ctx.specs,
    versionId,
    `spec:${versionId}`,
    SPECS,
    async () => (await ctx.store.getPipelineVersion(versionId))?.spec ?? null,
  );
