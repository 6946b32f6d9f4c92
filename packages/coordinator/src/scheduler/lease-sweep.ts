import { LOST, endAttempt } from './attempt-end.js';
import { resolveRun } from './dag.js';
import { DecisionIds } from './decision-ids.js';
import { retireOrphanedJobs } from './run-trigger.js';
import type { SchedulerContext } from './context.js';

/**
 * Declares the expired leases lost, once, whichever coordinator gets there first; none while
 * this coordinator's sweeps see the store fail or stall, nor for a lease TTL after (see
 * `LeaseGrace`: `ctx.store` is the watched store of the sweeps).
 */
export async function sweepExpiredLeases(ctx: SchedulerContext): Promise<number> {
  const expired = await ctx.store.findExpiredLeases(ctx.clock.now(), 256);
  if (expired.length > 0 && !ctx.leaseGrace.settled(ctx.clock.now())) return 0;
  let declared = 0;
  for (const job of expired) {
    const { won } = await endAttempt(ctx, job, 'lost', LOST, job.agentId);
    if (won) declared++;
  }
  return declared;
}

/** One sweep in this many also repairs running runs (see `createSweep`). */
const REPAIR_EVERY_SWEEPS = 10;

/**
 * Creates one coordinator's sweep: expired leases are declared lost (through the store that
 * `ctx.leaseGrace` watches, see `LeaseGrace`), and every few sweeps running runs are resolved
 * again and orphaned jobs retired.
 */
export function createSweep(ctx: SchedulerContext): () => Promise<{ lost: number }> {
  // Sweeps go through a store that notes its failures and stalls (see `LeaseGrace`).
  const sweepCtx: SchedulerContext = { ...ctx, store: ctx.leaseGrace.watch(ctx.store) };
  let sweeps = 0;
  const sweep = async () => {
    const lost = await sweepExpiredLeases(sweepCtx);
    // Repairing runs reads every job of every running run: do it only every few sweeps. It
    // is needed only when a coordinator died between a decision and its projection. A run
    // this coordinator read whole (or created) within the last repair period is left to the
    // next pass. A repair is the same whoever makes it, so of the coordinators that reach a
    // run in one period, the one that decides that period's repair makes it: a run is read
    // whole once per period, not once per coordinator (a large run on a server that reads every
    // job stored for it costs seconds each time).
    if (sweeps++ % REPAIR_EVERY_SWEEPS === 0) {
      const period = REPAIR_EVERY_SWEEPS * ctx.config.sweepIntervalMs;
      for (const run of await sweepCtx.store.listRuns({ status: 'running', limit: 100 })) {
        const now = ctx.clock.now();
        const seenAt = ctx.blockers.get(run._id)?.seenAt;
        if (seenAt !== undefined && now - seenAt < period) continue;
        const repair = DecisionIds.runRepair(run._id, Math.floor(now / period));
        if (!(await sweepCtx.store.decide(repair, {})).won) continue;
        await resolveRun(sweepCtx, run._id);
      }
      await retireOrphanedJobs(sweepCtx);
    }
    return { lost };
  };
  return () => ctx.leaseGrace.observe(sweep);
}
