import type { AttemptFingerprint } from '../store/types.js';
import { JobState } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { DecisionIds } from './decision-ids.js';
import { requireCurrentAttempt } from './lease-fence.js';
import { notifyRun } from './topics.js';

/** What the start decision of an attempt holds. */
export interface AttemptStart {
  agentId: string;
  fingerprint: AttemptFingerprint;
}

/**
 * Marks a leased job as running. With a fingerprint, records it twice, written at once: on the
 * job, for the current attempt (what `runs.get` shows), and as the attempt's start decision, for
 * the history (`runs.attempts`), since the job record holds only its current attempt.
 */
export async function startJob(
  ctx: SchedulerContext,
  agentId: string,
  jobId: string,
  attempt: number,
  fingerprint: AttemptFingerprint | null = null,
): Promise<void> {
  const job = await requireCurrentAttempt(ctx, agentId, jobId, attempt);
  const markRunning = async () => {
    if (job.state !== JobState.leased) return;
    const patch = {
      state: JobState.running,
      startedAt: ctx.clock.now(),
      ...(fingerprint ? { fingerprint: { ...fingerprint, attempt } } : {}),
    };
    if (await ctx.store.updateJob(jobId, patch, { attempt, states: [JobState.leased] }))
      ctx.leased.started(jobId, attempt, patch);
    notifyRun(ctx.store, job.runId);
  };
  // Both writes are awaited together, so that when one fails (a store outage) the other's
  // failure is handled too, never left to reject unobserved.
  await Promise.all([
    fingerprint
      ? ctx.store.decide<AttemptStart>(DecisionIds.attemptStart(jobId, attempt), { agentId, fingerprint })
      : null,
    markRunning(),
  ]);
}
