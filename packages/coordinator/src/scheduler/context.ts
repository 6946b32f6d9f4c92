import type { PipelineSpec } from '@hiveforge/sdk';
import type { Store } from '../store/types.js';
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
