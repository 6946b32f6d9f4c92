/**
 * The documents of the job hints (see `job-hints.ts`): one per queued (`ready_jobs`) and per
 * leased or running (`active_jobs`) attempt, and how a hint is checked against its job.
 */
import type { Document } from 'mongodb';
import type { JobRecord } from '../types.js';
import { type StoredDoc, encodeJob } from './codec.js';

/**
 * A hint whose job is not (yet) in the state it points at is kept this long, because it may have
 * been written just before its job (`active_jobs` hints are; so were `ready_jobs` hints before
 * they copied their job, and a store of that version may still write them); after that it is an
 * orphan of a write that never happened, and readers delete it.
 */
const ORPHAN_HINT_MS = 60_000;

/**
 * A hint that a job is queued at an attempt: `_id` is `<job>#<attempt>`. Written just after
 * the job enters `queued`, with a copy of it, and deleted just after it leaves; readers verify
 * it against the job unless they take the copy (see "job hints").
 */
export interface ReadyHint {
  _id: string;
  jobId: string;
  attempt: number;
  readyAt: number | null;
  /** The labels the job requires, so that dispatch can filter without reading the job. */
  labels: string[];
  /** When the hint was written. */
  at: number;
  /**
   * The job as it entered the queue (stored form), written with the hint after the job's write.
   * A queued attempt leaves the queue only by its lease decision, so a pull may take the job
   * from here instead of reading it (see `JobStore.findQueuedJobs` and `COPY_TRUSTED_MS`).
   */
  job?: StoredDoc;
  /** Retired: its job left the state (see "job hints"). */
  gone?: boolean;
}

/** A hint that a job is leased or running at an attempt: `_id` is `<job>#<attempt>`. */
export interface ActiveHint {
  _id: string;
  jobId: string;
  attempt: number;
  agentId: string | null;
  /**
   * The lease's expiry as renewed (`renewLease` writes only here). The lease expires at the
   * later of this and the job's `leaseExpiresAt`.
   */
  leaseExpiresAt: number | null;
  at: number;
  /** Retired: its job left the state (see "job hints"). */
  gone?: boolean;
}

/** The filter of hints not retired. */
export const LIVE = { gone: { $ne: true } } as const;

/** The `_id` of the hint of a job's attempt. */
export const hintId = (jobId: string, attempt: number) => `${jobId}#${attempt}`;
/** True for a leased or running state. */
export const isActive = (state: unknown) => state === 'leased' || state === 'running';
/** True for a queued job. */
export const isQueued = (job: { state?: unknown }) => job.state === 'queued';
/** True for a leased or running job. */
export const isActiveJob = (job: { state?: unknown }) => isActive(job.state);

/**
 * The ready hint of a queued job, which it copies (`stored`: the job as stored, when the caller
 * has it), written at `at`: write it only once the job is queued.
 */
export const readyHintOf = (job: JobRecord, at: number, stored: StoredDoc = encodeJob(job)): ReadyHint => ({
  _id: hintId(job._id, job.attempt),
  jobId: job._id,
  attempt: job.attempt,
  readyAt: job.readyAt,
  labels: [...job.spec.labels],
  at,
  job: stored,
});

/** The active hint of a leased or running job, written at `at`. */
export const activeHintOf = (job: JobRecord, at: number): ActiveHint => ({
  _id: hintId(job._id, job.attempt),
  jobId: job._id,
  attempt: job.attempt,
  agentId: job.agentId,
  leaseExpiresAt: job.leaseExpiresAt,
  at,
});

/**
 * What a hint says, checked against its job: `current` (the job is in the hinted state at the
 * hinted attempt), `pending` (the job may still get there: the hint may have been written just
 * before it), or `stale` (the job moved on, or the hint is an orphan), at `now`.
 */
export function verdictOf(
  hint: ReadyHint | ActiveHint,
  job: Document | null,
  kind: 'ready' | 'active',
  now: number,
): 'current' | 'pending' | 'stale' {
  const inState = kind === 'ready' ? isQueued : isActiveJob;
  if (job && job.attempt === hint.attempt && inState(job)) return 'current';
  // The state a job is in just before it enters the hinted one, at the same attempt.
  const before = kind === 'ready' ? 'waiting' : 'queued';
  const ahead = !job || job.attempt < hint.attempt || (job.attempt === hint.attempt && job.state === before);
  return ahead && now - hint.at < ORPHAN_HINT_MS ? 'pending' : 'stale';
}

/** A leased or running job with its lease's renewals, which its `active_jobs` hint holds. */
export function withRenewal(job: JobRecord, hint: ActiveHint | null): JobRecord {
  const renewed = hint?.attempt === job.attempt ? hint.leaseExpiresAt : null;
  return renewed !== null && (job.leaseExpiresAt === null || renewed > job.leaseExpiresAt)
    ? { ...job, leaseExpiresAt: renewed }
    : job;
}
