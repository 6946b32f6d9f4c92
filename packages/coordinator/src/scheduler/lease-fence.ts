import { FencedError, NotFoundError } from '@hiveforge/sdk';
import { type Decision, type JobRecord, JobState } from '../store/types.js';
import type { AttemptEnd } from './attempt-end.js';
import type { SchedulerContext } from './context.js';
import { DecisionIds } from './decision-ids.js';

/** Whether the job, as read, is leased to or run by `agentId` at `attempt`. */
export const holds = (job: JobRecord, agentId: string, attempt: number) =>
  job.attempt === attempt &&
  job.agentId === agentId &&
  (job.state === JobState.leased || job.state === JobState.running);

/** Loads a job and checks that `agentId` holds its current attempt; otherwise the caller is fenced. */
export async function requireCurrentAttempt(
  ctx: SchedulerContext,
  agentId: string,
  jobId: string,
  attempt: number,
): Promise<JobRecord> {
  const [job, ended] = await readAttempt(ctx, jobId, attempt);
  return checkCurrentAttempt(job, ended, agentId, jobId, attempt);
}

/** A job and its attempt's end decision, read at once. */
export const readAttempt = (ctx: SchedulerContext, jobId: string, attempt: number) =>
  Promise.all([ctx.store.getJob(jobId), ctx.store.getDecision<AttemptEnd>(DecisionIds.attemptEnd(jobId, attempt))]);

/** The check of {@link requireCurrentAttempt} on a job and its attempt-end decision already read. */
export function checkCurrentAttempt(
  job: JobRecord | null,
  ended: Decision<AttemptEnd> | null,
  agentId: string,
  jobId: string,
  attempt: number,
): JobRecord {
  if (!job) throw new NotFoundError(`no job '${jobId}'`);
  if (ended) {
    throw new FencedError(
      `attempt ${attempt} of job '${jobId}' already ended (${ended.data.kind}${ended.data.kind === 'completed' ? `: ${ended.data.result.status}` : ''}); this write is rejected`,
    );
  }
  if (!holds(job, agentId, attempt)) {
    throw new FencedError(
      `agent '${agentId}' does not hold attempt ${attempt} of job '${jobId}' (current attempt ${job.attempt}, state ${job.state})`,
    );
  }
  return job;
}
