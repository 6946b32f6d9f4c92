import type { ReadCache } from './read-cache.js';
import { waitingReason } from './scheduler/index.js';
import { type AgentRecord, type JobRecord, JobState, type RunRecord } from './store/types.js';

/** A job as `runs.get` shows it. */
export type JobView = JobRecord & {
  /** Why the job waits in the queue (no live agent has its labels); null otherwise. */
  waiting: string | null;
};

/** A run and its jobs, as `runs.get` answers it. */
export interface RunView {
  run: RunRecord;
  jobs: JobView[];
}

/** The read cache's key of a run's view. */
export const runViewKey = (runId: string) => `run:${runId}`;

/**
 * A run's view from its records: each job with the fingerprint of its current attempt (null
 * while that attempt has not started) and, when `agents` were read, why a queued job waits. A
 * view built without the agents (a watch of the run reads none) keeps the `waiting` that `kept`
 * gave a job still queued at the same attempt.
 */
export function runViewOf(
  run: RunRecord,
  jobs: readonly JobRecord[],
  agents: readonly AgentRecord[] | null,
  kept?: RunView,
): RunView {
  const before = new Map(kept?.jobs.map((j) => [j.name, j]));
  return {
    run,
    jobs: jobs.map((job) => {
      let waiting: string | null = null;
      if (job.state === JobState.queued) {
        const earlier = before.get(job.name);
        waiting = agents
          ? waitingReason(job.spec.labels, agents)
          : earlier?.state === JobState.queued && earlier.attempt === job.attempt
            ? earlier.waiting
            : null;
      }
      return {
        ...job,
        fingerprint: job.fingerprint?.attempt === job.attempt ? job.fingerprint : null,
        waiting,
      };
    }),
  };
}

/**
 * Keeps what a read of a run without its agents (a watch) saw. `changed` says whether the read
 * saw a change since the watcher's cursor: when it did not, the view kept is what it read, and
 * only its time is renewed (a watch reads every half second; the run is serialized only when it
 * changed).
 */
export function sawRun(cache: ReadCache, read: { run: RunRecord; jobs: readonly JobRecord[]; changed: boolean }): void {
  const key = runViewKey(read.run._id);
  if (!read.changed && cache.touch(key)) return;
  const queued = read.jobs.some((j) => j.state === JobState.queued);
  cache.put(key, runViewOf(read.run, read.jobs, null, queued ? cache.get<RunView>(key)?.value : undefined));
}
