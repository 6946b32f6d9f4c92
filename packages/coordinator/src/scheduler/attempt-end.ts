import { AttemptCause, type JobRecord, JobState, isTerminal } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { type Settlement, settleRun } from './dag.js';
import { DecisionIds } from './decision-ids.js';
import { Topics, notifyRun } from './topics.js';

/** The outcome of one attempt as reported by an agent. */
export interface AttemptResult {
  status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
  exitCode: number | null;
  error: string | null;
  outputs: Record<string, string>;
}

/** The decision of how an attempt ended. Whoever applies it reaches the same state. */
export interface AttemptEnd {
  kind: 'completed' | 'lost' | 'cancelled';
  agentId: string | null;
  result: AttemptResult;
  /** True when the job goes on as the next attempt. */
  retry: boolean;
}

/** Decides whether an ended attempt is retried. Agent loss has its own budget. */
export function shouldRetry(job: JobRecord, kind: AttemptEnd['kind'], result: AttemptResult, maxLost: number): boolean {
  if (kind === 'cancelled' || result.status === 'cancelled' || result.status === 'succeeded') return false;
  if (kind === 'lost') return job.lostAttempts < maxLost;
  const failedAttempts = job.attempt - job.lostAttempts;
  return failedAttempts <= job.spec.retries;
}

/** The state an attempt's end leaves its job in, when the job is not retried. */
export const stateOf = (end: AttemptEnd): JobState =>
  end.kind === 'lost'
    ? JobState.failed
    : end.kind === 'cancelled'
      ? JobState.cancelled
      : (end.result.status as JobState);

/** Why an attempt ended, as recorded on its job. */
export const causeOf = (end: AttemptEnd): AttemptCause =>
  end.kind === 'lost'
    ? AttemptCause.agentLost
    : end.kind === 'cancelled' || end.result.status === 'cancelled'
      ? AttemptCause.cancelled
      : end.result.status === 'timed_out'
        ? AttemptCause.timeout
        : end.result.error && end.result.exitCode === null
          ? AttemptCause.error
          : AttemptCause.exit;

/**
 * Applies an attempt-end decision to the job's projection, then resolves what it unblocks.
 * Idempotent: applying the same decision twice, or after another coordinator did, changes nothing.
 * `read` is the job as the caller read it before it won the decision `end`, if it did: then no
 * one else changes this attempt, and the updates pass it as the job they were decided on (see
 * `JobGuard.decidedOn`). The updates are guarded by attempt and state, so a job that moved on is left alone.
 */
export async function applyAttemptEnd(
  ctx: SchedulerContext,
  jobId: string,
  attempt: number,
  end: AttemptEnd,
  read?: JobRecord,
): Promise<void> {
  const settlement = await projectAttemptEnd(ctx, jobId, attempt, end, read);
  if (settlement) await settleRun(ctx, settlement);
}

/**
 * The first half of {@link applyAttemptEnd}: updates the job and wakes its run's watchers, and
 * returns what is left, resolving the run (null for an unknown job). A completion leaves it to
 * the scheduler, which may pull the agent's next job first (see `Scheduler.complete`).
 */
export async function projectAttemptEnd(
  ctx: SchedulerContext,
  jobId: string,
  attempt: number,
  end: AttemptEnd,
  read?: JobRecord,
): Promise<Settlement | null> {
  const { store } = ctx;
  const now = ctx.clock.now();
  const job = read ?? (await store.getJob(jobId));
  if (!job) return null;
  const lost = end.kind === 'lost' ? 1 : 0;
  if (job.attempt === attempt && !isTerminal(job.state)) {
    let applied = false;
    if (end.retry) {
      applied = await store.updateJob(
        jobId,
        {
          state: JobState.queued,
          attempt: attempt + 1,
          readyAt: now,
          agentId: null,
          leaseExpiresAt: null,
          leasedAt: null,
          startedAt: null,
          exitCode: end.result.exitCode,
          cause: causeOf(end),
          error: end.result.error,
          lostAttempts: job.lostAttempts + lost,
        },
        { attempt, states: [JobState.queued, JobState.leased, JobState.running], decidedOn: read },
      );
      store.notify(Topics.queue);
    } else {
      applied = await store.updateJob(
        jobId,
        {
          state: stateOf(end),
          finishedAt: now,
          leaseExpiresAt: null,
          exitCode: end.result.exitCode,
          cause: causeOf(end),
          error: end.result.error,
          outputs: end.result.outputs,
          lostAttempts: job.lostAttempts + lost,
        },
        { attempt, states: [JobState.queued, JobState.leased, JobState.running], decidedOn: read },
      );
    }
    // Only the caller that applied the end reports it. Not awaited: the feed must not slow
    // completions down, and recording never fails.
    if (applied) {
      const state = end.retry ? JobState.queued : stateOf(end);
      void ctx.events.record(
        { type: 'job', runId: job.runId, jobId, job: job.name, attempt: end.retry ? attempt + 1 : attempt, state },
        now,
      );
    }
  }
  notifyRun(store, job.runId);
  return { job, since: ctx.progress.mark() };
}

/**
 * Decides how an attempt ended (once, whichever caller gets there first), without applying it:
 * `end` is the decision that won, this call's or an earlier one.
 */
export async function decideAttemptEnd(
  ctx: SchedulerContext,
  job: JobRecord,
  kind: AttemptEnd['kind'],
  result: AttemptResult,
  agentId: string | null,
): Promise<{ won: boolean; end: AttemptEnd }> {
  const retry = shouldRetry(job, kind, result, ctx.config.maxLostAttempts);
  const { won, decision } = await ctx.store.decide<AttemptEnd>(DecisionIds.attemptEnd(job._id, job.attempt), {
    kind,
    agentId,
    result,
    retry,
  });
  return { won, end: decision.data };
}

/** Declares an attempt lost (or otherwise ended) by decision, and applies whatever won. */
export async function endAttempt(
  ctx: SchedulerContext,
  job: JobRecord,
  kind: AttemptEnd['kind'],
  result: AttemptResult,
  agentId: string | null,
): Promise<{ won: boolean; end: AttemptEnd }> {
  const decided = await decideAttemptEnd(ctx, job, kind, result, agentId);
  // When this call decided, the job is as read just before: no need to read it again.
  await applyAttemptEnd(ctx, job._id, job.attempt, decided.end, decided.won ? job : undefined);
  return decided;
}

/** The result of an attempt whose agent stopped renewing its lease. */
export const LOST: AttemptResult = {
  status: 'failed',
  exitCode: null,
  error: 'the agent stopped renewing its lease',
  outputs: {},
};
