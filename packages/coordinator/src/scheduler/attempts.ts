import { NotFoundError } from '@hiveforge/sdk';
import { AttemptCause, type AttemptFingerprint, JobState } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { type AttemptEnd, causeOf, stateOf } from './attempt-end.js';
import { DecisionIds } from './decision-ids.js';
import type { AttemptStart } from './attempt-start.js';

/** One attempt of a job, as its decisions record it. */
export interface AttemptRecord {
  attempt: number;
  /** The agent it was leased to; null when it was never leased (cancelled while queued). */
  agentId: string | null;
  leasedAt: number | null;
  /** When its end was decided; null while it runs or waits. */
  endedAt: number | null;
  /**
   * How it ended (`failed` also for an attempt whose agent was lost, retried or not); for the
   * current attempt while unended, the job's state (`queued`, `leased`, `running`).
   */
  status: JobState | null;
  cause: AttemptCause | null;
  exitCode: number | null;
  error: string | null;
  /** True when the job went on as the next attempt. */
  retried: boolean;
  /** The environment the attempt started in, as its agent reported it; null until it started. */
  fingerprint: AttemptFingerprint | null;
}

/**
 * The attempts of a job, oldest first, from their lease, start and attempt-end decisions: the job record
 * holds only its current attempt, the decisions hold every one. Reads by `_id` only.
 */
export async function listAttempts(ctx: SchedulerContext, jobId: string): Promise<AttemptRecord[]> {
  const job = await ctx.store.getJob(jobId);
  if (!job) throw new NotFoundError(`no job '${jobId}'`);
  const numbers = Array.from({ length: job.attempt }, (_, i) => i + 1);
  return Promise.all(
    numbers.map(async (attempt): Promise<AttemptRecord> => {
      const [lease, start, end] = await Promise.all([
        ctx.store.getDecision<{ agentId: string | null; cancelled?: boolean }>(DecisionIds.lease(jobId, attempt)),
        ctx.store.getDecision<AttemptStart>(DecisionIds.attemptStart(jobId, attempt)),
        ctx.store.getDecision<AttemptEnd>(DecisionIds.attemptEnd(jobId, attempt)),
      ]);
      const leased = lease && !lease.data.cancelled ? lease : null;
      // The job holds the lease of its current attempt as recorded: the first lease decision may
      // be one never recorded, the attempt leased again in a later round (see `DecisionIds.lease`).
      const current = attempt === job.attempt && job.agentId !== null && job.leasedAt !== null ? job : null;
      // A run cancelled while the attempt was queued claims its lease instead of ending it.
      const claimed = lease?.data.cancelled && !end ? lease : null;
      return {
        attempt,
        agentId: current?.agentId ?? leased?.data.agentId ?? end?.data.agentId ?? null,
        leasedAt: current?.leasedAt ?? leased?.at ?? null,
        endedAt: end?.at ?? claimed?.at ?? null,
        status: end ? stateOf(end.data) : claimed ? JobState.cancelled : attempt === job.attempt ? job.state : null,
        cause: end ? causeOf(end.data) : claimed ? AttemptCause.cancelled : null,
        exitCode: end?.data.result.exitCode ?? null,
        error: end?.data.result.error ?? null,
        retried: end?.data.retry ?? false,
        fingerprint: start?.data.fingerprint ?? null,
      };
    }),
  );
}
