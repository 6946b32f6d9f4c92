import type { JobRecord } from '../store/types.js';
import { remember } from './bounded-map.js';
import { attemptKey } from './decision-ids.js';

/**
 * Jobs this coordinator leased, as it recorded the lease, by `jobId#attempt`: a completion of
 * such an attempt by the agent that leased it needs no read of the job first.
 *
 * Safe because of what may change a leased attempt's job: only its start (leased -> running,
 * with `startedAt` and its fingerprint, applied here too when this coordinator records it) and the end of the
 * attempt, which is a decision. A completion decides the attempt's end; if another end won (a
 * lost lease, a cancellation), the job is read again to apply that one, as without the cache.
 * A coordinator that starts empty, or a completion sent to another coordinator, reads the job.
 */
export class LeasedJobs {
  readonly #jobs = new Map<string, JobRecord>();

  /** At most this many leased attempts are kept (the oldest go first). */
  constructor(private readonly limit = 4_096) {}

  /** Remembers a job as this coordinator recorded its lease. */
  leased(job: JobRecord): void {
    remember(this.#jobs, attemptKey(job._id, job.attempt), this.limit, job);
  }

  /** Records the attempt's start, as this coordinator recorded it on the job. */
  started(jobId: string, attempt: number, patch: Pick<JobRecord, 'state' | 'startedAt' | 'fingerprint'>): void {
    const key = attemptKey(jobId, attempt);
    const job = this.#jobs.get(key);
    if (job) this.#jobs.set(key, { ...job, ...patch });
  }

  /**
   * The job as leased to `agentId` at `attempt`, and forgotten: the attempt is ending. Nothing
   * when this coordinator did not lease it to that agent (or no longer remembers it).
   */
  take(jobId: string, attempt: number, agentId: string): JobRecord | undefined {
    const key = attemptKey(jobId, attempt);
    const job = this.#jobs.get(key);
    if (!job) return undefined;
    this.#jobs.delete(key);
    return job.agentId === agentId ? job : undefined;
  }

  /** How many attempts are remembered; for tests. */
  get size(): number {
    return this.#jobs.size;
  }
}
