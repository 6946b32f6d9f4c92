import { AttemptCause, type JobRecord, JobState, type RunStatus, isTerminal } from '../store/types.js';
import { type SchedulerContext, Topics } from './context.js';
import { DecisionIds } from './decision-ids.js';

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

const stateOf = (end: AttemptEnd): JobState =>
  end.kind === 'lost'
    ? JobState.failed
    : end.kind === 'cancelled'
      ? JobState.cancelled
      : (end.result.status as JobState);

const causeOf = (end: AttemptEnd): AttemptCause =>
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
 */
export async function applyAttemptEnd(
  ctx: SchedulerContext,
  jobId: string,
  attempt: number,
  end: AttemptEnd,
): Promise<void> {
  const { store } = ctx;
  const now = ctx.now();
  const job = await store.getJob(jobId);
  if (!job) return;
  const lost = end.kind === 'lost' ? 1 : 0;
  if (job.attempt === attempt && !isTerminal(job.state)) {
    if (end.retry) {
      await store.updateJob(
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
        { attempt, states: [JobState.queued, JobState.leased, JobState.running] },
      );
      store.notify(Topics.queue);
    } else {
      await store.updateJob(
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
        { attempt, states: [JobState.queued, JobState.leased, JobState.running] },
      );
    }
  }
  store.notify(Topics.run(job.runId));
  await resolveRun(ctx, job.runId);
}

/**
 * Moves waiting jobs whose needs are all finished to queued (all succeeded) or skipped (any did
 * not), cascading, and ends the run once every job is finished. Safe to call any number of
 * times from any coordinator: each move is a decision.
 */
export async function resolveRun(ctx: SchedulerContext, runId: string): Promise<void> {
  const { store } = ctx;
  const run = await store.getRun(runId);
  if (run?.status !== 'running') return;
  let jobs = await store.listJobs(runId);
  const cancelled = await store.getDecision(DecisionIds.runCancel(runId));
  for (let changed = true; changed; ) {
    changed = false;
    const byName = new Map(jobs.map((j) => [j.name, j]));
    for (const job of jobs) {
      if (job.state !== JobState.waiting) continue;
      const needs = job.spec.needs.map((n) => byName.get(n));
      if (needs.some((n) => n && !isTerminal(n.state))) continue;
      const ok = needs.every((n) => n?.state === JobState.succeeded);
      const proposal = cancelled ? 'cancelled' : ok ? 'queued' : 'skipped';
      const { decision } = await store.decide(DecisionIds.jobResolve(job._id), { outcome: proposal });
      const outcome = decision.data.outcome;
      const now = ctx.now();
      const patch =
        outcome === 'queued'
          ? { state: JobState.queued, readyAt: now }
          : outcome === 'cancelled'
            ? { state: JobState.cancelled, finishedAt: now, cause: AttemptCause.cancelled }
            : { state: JobState.skipped, finishedAt: now, cause: AttemptCause.needsFailed };
      await store.updateJob(job._id, patch, { states: [JobState.waiting] });
      if (outcome === 'queued') store.notify(Topics.queue);
      changed = true;
    }
    if (changed) jobs = await store.listJobs(runId);
  }
  if (!jobs.every((j) => isTerminal(j.state))) return;
  const failed = jobs.some((j) => j.state === JobState.failed || j.state === JobState.timedOut);
  const status: RunStatus = cancelled
    ? 'cancelled'
    : failed
      ? 'failed'
      : jobs.some((j) => j.state === JobState.cancelled)
        ? 'cancelled'
        : 'succeeded';
  const { decision } = await store.decide(DecisionIds.runEnd(runId), { status });
  await store.updateRun(runId, { status: decision.data.status, finishedAt: decision.at });
  store.notify(Topics.run(runId));
}
