import { FencedError, NotFoundError } from '@hiveforge/sdk';
import {
  type AttemptEnd,
  type AttemptResult,
  applyAttemptEnd,
  decideAttemptEnd,
  projectAttemptEnd,
} from './attempt-end.js';
import type { SchedulerContext } from './context.js';
import type { Settlement } from './dag.js';
import { DecisionIds } from './decision-ids.js';
import { checkCurrentAttempt, holds } from './lease-fence.js';

/** A completion as an agent reports it. */
export interface CompletionInput {
  jobId: string;
  attempt: number;
  result: AttemptResult;
}

/**
 * A recorded completion: whether it replayed one recorded before, and, when this one ended the
 * attempt, what is left to do: resolving the run (see `settleRun`), which the caller must do.
 */
export interface RecordedCompletion {
  duplicate: boolean;
  settlement: Settlement | null;
}

/**
 * Records how an attempt ended. The end is a decision: a completion that loses to "lost" (or
 * to a cancellation) is rejected (a `FencedError`), and a replay of the same completion is
 * accepted once. The job is updated; the run's resolution is left to the caller, which may pull
 * the agent's next job first (see `Scheduler.complete`).
 */
export async function recordCompletion(
  ctx: SchedulerContext,
  agentId: string,
  input: CompletionInput,
): Promise<RecordedCompletion> {
  // The job as this coordinator leased it to the agent, if it did: see `LeasedJobs`.
  const job = ctx.leased.take(input.jobId, input.attempt, agentId) ?? (await ctx.store.getJob(input.jobId));
  if (!job) throw new NotFoundError(`no job '${input.jobId}'`);
  const check = (end: AttemptEnd) => {
    if (end.kind === 'completed' && end.agentId === agentId && end.result.status === input.result.status)
      return { duplicate: true, settlement: null };
    throw new FencedError(
      `attempt ${input.attempt} of job '${input.jobId}' already ended (${end.kind}${end.kind === 'completed' ? `: ${end.result.status}` : ''}); this completion is rejected`,
    );
  };
  if (!holds(job, agentId, input.attempt)) {
    // The attempt ended already (a replayed completion, a lost lease, a cancellation) or was
    // never this agent's: its end decision, if any, tells which, and is applied in case a
    // coordinator died before it was.
    const existing = await ctx.store.getDecision<AttemptEnd>(DecisionIds.attemptEnd(input.jobId, input.attempt));
    if (existing) {
      await applyAttemptEnd(ctx, input.jobId, input.attempt, existing.data);
      return check(existing.data);
    }
    checkCurrentAttempt(job, null, agentId, input.jobId, input.attempt);
  }
  // The job says the agent holds the attempt. An end decided but not yet applied wins over this
  // one below (and is applied then), so the decision need not be read first.
  const { won, end } = await decideAttemptEnd(ctx, job, 'completed', input.result, agentId);
  if (!won) {
    await applyAttemptEnd(ctx, input.jobId, input.attempt, end);
    return check(end);
  }
  // The job is as read just before this call won: no need to read it again.
  return { duplicate: false, settlement: await projectAttemptEnd(ctx, job._id, job.attempt, end, job) };
}
