import { NotFoundError } from '@hiveforge/sdk';
import { JobState, isTerminal } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { notifyRun } from './topics.js';
import { applyAttemptEnd, endAttempt } from './attempt-end.js';
import { resolveRun } from './dag.js';
import { DecisionIds } from './decision-ids.js';

const CANCELLED = { status: 'cancelled' as const, exitCode: null, error: 'the run was cancelled', outputs: {} };

/**
 * Cancels a run: waiting jobs are resolved as cancelled, queued attempts are claimed so no agent
 * can lease them, and running attempts end as cancelled (their agents learn it on the next
 * heartbeat and stop). Safe to call twice.
 */
export async function cancelRun(ctx: SchedulerContext, runId: string, actor: string | null): Promise<void> {
  const { store } = ctx;
  const run = await store.getRun(runId);
  if (!run) throw new NotFoundError(`no run '${runId}'`);
  await store.decide(DecisionIds.runCancel(runId), { actor });
  // Waiting jobs first, so that ending a running job cannot resolve its dependents as skipped.
  const order = { waiting: 0, queued: 1 } as Record<string, number>;
  const jobs = (await store.listJobs(runId)).sort((x, y) => (order[x.state] ?? 2) - (order[y.state] ?? 2));
  for (const job of jobs) {
    if (isTerminal(job.state)) continue;
    if (job.state === JobState.waiting) {
      const { decision } = await store.decide(DecisionIds.jobResolve(job._id), { outcome: 'cancelled' });
      if (decision.data.outcome === 'cancelled') {
        await store.updateJob(
          job._id,
          { state: JobState.cancelled, finishedAt: ctx.clock.now(), cause: 'cancelled' },
          { states: [JobState.waiting] },
        );
      }
      continue;
    }
    if (job.state === JobState.queued) {
      const { won } = await store.decide(DecisionIds.lease(job._id, job.attempt), {
        agentId: null,
        requestId: null,
        cancelled: true,
      });
      if (won) {
        await applyAttemptEnd(ctx, job._id, job.attempt, {
          kind: 'cancelled',
          agentId: null,
          result: CANCELLED,
          retry: false,
        });
        continue;
      }
    }
    await endAttempt(ctx, job, 'cancelled', CANCELLED, job.agentId);
  }
  notifyRun(store, runId);
  await resolveRun(ctx, runId);
}
