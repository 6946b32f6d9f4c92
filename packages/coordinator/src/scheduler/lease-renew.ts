import { JobState } from '../store/types.js';
import { applyAttemptEnd } from './attempt-end.js';
import type { SchedulerContext } from './context.js';
import { attemptKey } from './decision-ids.js';
import { readAttempt } from './lease-fence.js';

/** What a heartbeat tells the agent about one of its leases. */
export type LeaseStatus = 'ok' | 'cancel' | 'lost';

/** Renews the leases an agent holds; tells it which to cancel and which it lost. */
export async function renewLeases(
  ctx: SchedulerContext,
  agentId: string,
  leases: readonly { jobId: string; attempt: number }[],
): Promise<Record<string, LeaseStatus>> {
  const out: Record<string, LeaseStatus> = {};
  // All at once: a heartbeat that renews its leases one after the other takes as long as all
  // their round trips, and a lease it reaches late may expire meanwhile.
  await Promise.all(
    leases.map(async ({ jobId, attempt }) => {
      // The attempt's end decision too: an end decided but not applied yet (its coordinator died,
      // or on a server without atomic guards the lease's update landed after it) still reaches
      // the agent on this heartbeat, and is applied.
      const [job, ended] = await readAttempt(ctx, jobId, attempt);
      const key = attemptKey(jobId, attempt);
      if (ended) {
        // Applied without holding up the answer: applying resolves the run, which on a busy run
        // (a fan-out whose jobs keep finishing) can take seconds, while the agent's other leases
        // wait for this heartbeat to be renewed. A failed apply is repaired by the sweeper.
        void applyAttemptEnd(ctx, jobId, attempt, ended.data).catch(() => {});
        out[key] = ended.data.kind === 'cancelled' ? 'cancel' : 'lost';
      } else if (!job || job.attempt !== attempt || job.agentId !== agentId) {
        out[key] = 'lost';
      } else if (job.state === JobState.cancelled) {
        out[key] = 'cancel';
      } else if (job.state !== JobState.leased && job.state !== JobState.running) {
        out[key] = 'lost';
      } else {
        const renewed = await ctx.store.renewLease(jobId, attempt, ctx.clock.now() + ctx.config.leaseTtlMs);
        out[key] = renewed ? 'ok' : 'lost';
      }
    }),
  );
  return out;
}
