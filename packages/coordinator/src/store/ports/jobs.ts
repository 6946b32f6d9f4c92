import type { JobSpec } from '@hiveforge/sdk';

/** The states of a job. `waiting` jobs have unmet needs; `queued` jobs can be leased. */
export const JobState = {
  waiting: 'waiting',
  queued: 'queued',
  leased: 'leased',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  timedOut: 'timed_out',
  cancelled: 'cancelled',
  skipped: 'skipped',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

/** States a job never leaves. */
export const TERMINAL_JOB_STATES: readonly JobState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

/** True when a job in this state will not change again. */
export const isTerminal = (state: JobState): boolean => TERMINAL_JOB_STATES.includes(state);

/** Why an attempt ended the way it did. */
export const AttemptCause = {
  exit: 'exit',
  timeout: 'timeout',
  cancelled: 'cancelled',
  agentLost: 'agent_lost',
  error: 'error',
  needsFailed: 'needs_failed',
  condition: 'condition',
} as const;
export type AttemptCause = (typeof AttemptCause)[keyof typeof AttemptCause];

/**
 * Where and with what an attempt ran, as its agent reported it when the attempt started (see
 * docs/concepts.md, "Each attempt's environment"): enough to tell two attempts' environments apart.
 */
export interface AttemptFingerprint {
  /** The executor's name: `process`, `docker`, `kubernetes`. */
  executor: string;
  /** The image tag the job ran in; null when it ran on the host (the process executor). */
  imageTag: string | null;
  /** The engine's id of that image (`sha256:…`); null without an image. */
  imageId: string | null;
  /** A hash of the agent's configuration without secrets, name and per-host paths. */
  configHash: string;
  /** The agent's HiveForge version. */
  hiveforgeVersion: string;
  /** The agent's Node.js version (`v22.…`). */
  nodeVersion: string;
}

export interface JobRecord {
  _id: string;
  runId: string;
  name: string;
  spec: JobSpec;
  state: JobState;
  /** The current attempt, starting at 1. It is the fencing token of every agent write. */
  attempt: number;
  /** When the job became ready; dispatch takes the oldest first. */
  readyAt: number | null;
  agentId: string | null;
  leaseExpiresAt: number | null;
  /** When the current attempt was leased. */
  leasedAt: number | null;
  /**
   * The request id of the pull the current attempt was leased to, so that a resend of that pull
   * gets the same lease (see `leaseJob`). Absent on jobs never leased.
   */
  leaseRequestId?: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  exitCode: number | null;
  cause: AttemptCause | null;
  error: string | null;
  outputs: Record<string, string>;
  /** Attempts that ended because their agent was lost. */
  lostAttempts: number;
  /**
   * The environment of the attempt that last started, with its number; absent or null until one
   * starts with a fingerprint (a later attempt that has not started yet leaves its predecessor's).
   */
  fingerprint?: (AttemptFingerprint & { attempt: number }) | null;
}

/** Fields of a job that may change after it is created. */
export type JobPatch = Partial<Omit<JobRecord, '_id' | 'runId' | 'name' | 'spec'>>;

/** A condition an update requires, so that a late writer cannot move a job backwards. */
export interface JobGuard {
  states?: readonly JobState[];
  attempt?: number;
  /**
   * The job as the caller saw it when it won the decision this update carries out (DESIGN.md's
   * decision rule): no one else changes this attempt until the update is made, so this is the
   * job as stored. The guard still holds against the stored job; a store that would read the job
   * to check it may check it against this instead.
   */
  decidedOn?: JobRecord;
}

/** How many queued jobs require one set of labels. */
export interface QueueDepth {
  /** The labels the jobs require, sorted; empty for jobs any agent can run. */
  labels: string[];
  count: number;
}

/** Which queued jobs `findQueuedJobs` returns, and in what order. */
export interface QueuedJobsQuery {
  /** Only the jobs an agent with these labels can run (every label the job requires is among them). */
  labels?: readonly string[];
  /**
   * Attempts the caller does not want (it tried them, or other pulls of its own are taking
   * them): passed over, and not counted against the limit.
   */
  skip?: (jobId: string, attempt: number) => boolean;
  /**
   * Spreads pullers that race for one queue (from several coordinators): a pull passing `spread`
   * n would rather start at the n-th oldest eligible job (n modulo their number) and go on in age
   * order, wrapping around to the oldest, so that pulls passing different values do not all go
   * for the same job. A hint: a store may ignore it and return the oldest first. @default 0
   */
  spread?: number;
}

/** The first id that comes twice in `ids`, if any (a batch of records must not repeat one). */
export function firstDuplicate(ids: Iterable<string>): string | undefined {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) return id;
    seen.add(id);
  }
  return undefined;
}

/**
 * How a store finds queued and leased jobs: `memory` (in-process maps), or on a MongoDB-wire
 * server `indexed` (queries served by compound indexes) or `hinted` (small hint collections read
 * whole, for servers that serve only `_id` lookups from an index). Reported by `/readyz`.
 */
export type JobIndexKind = 'memory' | 'indexed' | 'hinted';

/** Jobs of the Store: their states, leases and the queue. */
export interface JobStore {
  /** How this store finds queued and leased jobs (see {@link JobIndexKind}). */
  jobIndex(): JobIndexKind;
  /**
   * Inserts jobs. If one of them is stored already, none is inserted (`ConflictError`), unless
   * `keepExisting`: then those stored are kept as they are and the others inserted, which
   * finishes an insert that a coordinator died in (see `triggerRun`).
   */
  insertJobs(jobs: readonly JobRecord[], options?: { keepExisting?: boolean }): Promise<void>;
  /**
   * A job, as its last update left it. Its `leaseExpiresAt` may leave out the renewals made
   * since (`renewLease`): the lease's current expiry is what `listJobs`, `findJobsOfAgent` and
   * `findExpiredLeases` return.
   */
  getJob(id: string): Promise<JobRecord | null>;
  listJobs(runId: string): Promise<JobRecord[]>;
  /** Applies `patch` when the guard holds; returns whether it did. */
  updateJob(id: string, patch: JobPatch, guard?: JobGuard): Promise<boolean>;
  /**
   * Extends the lease of a job's attempt to `expiresAt` while that attempt is leased or running
   * (renewals only extend); returns whether it did. `listJobs`, `findJobsOfAgent` and
   * `findExpiredLeases` see the renewal (`getJob` may not). Adapters may keep renewals apart from the rest of the job, so that a
   * heartbeat never races with the job's state changes: unlike `updateJob`, a renewal changes
   * nothing else.
   */
  renewLease(jobId: string, attempt: number, expiresAt: number): Promise<boolean>;
  /**
   * Queued jobs, oldest ready first (see {@link QueuedJobsQuery} for which and in what order).
   * Each came back as it was at some moment while queued: it may have left the queue since (been
   * leased, or cancelled), as it may by the time the caller looks at it anyway. A queued attempt
   * leaves the queue only by its lease decision, so callers decide the lease before relying on it.
   */
  findQueuedJobs(limit: number, query?: QueuedJobsQuery): Promise<JobRecord[]>;
  /** Leased or running jobs whose lease expired before `now`. */
  findExpiredLeases(now: number, limit: number): Promise<JobRecord[]>;
  /** Jobs currently leased to or run by an agent. */
  findJobsOfAgent(agentId: string): Promise<JobRecord[]>;

  /**
   * How many jobs are queued, per set of required labels (sets with none queued are left out),
   * without reading the jobs. Adapters that find queued jobs through hints may count a job that
   * just left the queue until the hint is gone: the counts are for metrics, not decisions.
   */
  countQueuedJobs(): Promise<QueueDepth[]>;
}
