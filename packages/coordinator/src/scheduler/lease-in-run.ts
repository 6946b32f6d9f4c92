import { ForbiddenError } from '@hiveforge/sdk';
import { type Store, JobState } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';

/** Which agent asks about which run, for {@link requireLeaseInRun}. */
export interface LeaseInRunQuery {
  agentId: string;
  runId: string;
  /** What it asked for (`outputs`, `artifacts`), for the error's message. */
  what: string;
}

/**
 * Checks that an agent holds a current lease (leased or running, its attempt not ended) of a job
 * of `runId`; otherwise a `ForbiddenError`. What an agent reads of a run (outputs, artifacts) it
 * reads only while it runs a job of that run, so no agent reaches another run's data.
 */
export async function requireLeaseInRun(store: Store, options: LeaseInRunQuery): Promise<void> {
  const held = (await store.findJobsOfAgent(options.agentId)).filter(
    (job) => job.runId === options.runId && (job.state === JobState.leased || job.state === JobState.running),
  );
  for (const job of held) {
    if (!(await store.getDecision(DecisionIds.attemptEnd(job._id, job.attempt)))) return;
  }
  throw new ForbiddenError(
    `agent '${options.agentId}' holds no lease in run '${options.runId}'; it may read only its own runs' ${options.what}`,
  );
}
