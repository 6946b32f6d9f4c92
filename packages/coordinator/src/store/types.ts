import type { JobSpec, PipelineSpec, TriggerEvent } from '@hiveforge/sdk';

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

/** The states of a run. */
export const RunStatus = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

/**
 * A decision: a document whose unique `_id` names what was decided. The insert that wins
 * decides; everyone else reads the winner's document and acts on it.
 */
export interface Decision<T = Record<string, unknown>> {
  _id: string;
  at: number;
  data: T;
}

/** The outcome of trying to insert a decision. */
export interface Decided<T> {
  /** True when this insert made the decision. */
  won: boolean;
  /** The decision in force: this caller's when it won, the winner's otherwise. */
  decision: Decision<T>;
}

/** One deployed, content-addressed version of a pipeline. */
export interface PipelineVersionRecord {
  _id: string;
  pipeline: string;
  spec: PipelineSpec;
  /** The executable bundle (ESM JavaScript) agents evaluate in job mode. */
  bundle: string;
  /** The entry file of the sources, relative to their root. */
  entry: string;
  createdAt: number;
}

/**
 * One entry of a pipeline's version history: what a list of versions shows without the bundle
 * or the full spec.
 */
export interface PipelineVersionSummary {
  /** The version id (content hash). */
  _id: string;
  pipeline: string;
  /** When the version was first stored; deploying the same content again keeps it. */
  createdAt: number;
  /** The entry file of the sources, relative to their root. */
  entry: string;
  /** The names of the version's jobs, in the spec's order. */
  jobs: string[];
}

/** Which page of a pipeline's versions to list, newest first. */
export interface PipelineVersionQuery {
  /** Versions older than this version id (one of the pipeline's), for pagination. */
  before?: string;
  limit: number;
}

/** How many queued jobs require one set of labels. */
export interface QueueDepth {
  /** The labels the jobs require, sorted; empty for jobs any agent can run. */
  labels: string[];
  count: number;
}

/** The head of a pipeline: its latest deployed version. */
export interface PipelineRecord {
  _id: string;
  versionId: string;
  updatedAt: number;
}

/** What started a run. */
export interface RunTrigger {
  event: TriggerEvent;
  branch: string | null;
  commit: string | null;
  inputs: Record<string, string | number | boolean>;
  actor: string | null;
  /** Where the sources are: a git URL, or a local directory for `hiveforge run`. */
  repository: string | null;
  /**
   * A pull request from a fork (event `pullRequest`): its jobs are given no secret of the
   * coordinator's or the agent's. Absent in runs stored before it existed. @default false
   */
  fork?: boolean;
}

export interface RunRecord {
  _id: string;
  pipeline: string;
  number: number;
  versionId: string;
  trigger: RunTrigger;
  status: RunStatus;
  createdAt: number;
  finishedAt: number | null;
}

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

export interface LogChunkRecord {
  _id: string;
  jobId: string;
  runId: string;
  attempt: number;
  seq: number;
  /** Byte offset of this chunk in the attempt's log. */
  offset: number;
  text: string;
  at: number;
}

/** How much one {@link Store.readLogChunks} reads. */
export interface LogReadLimit {
  /** At most this many chunks. @default 1000 */
  chunks?: number;
  /**
   * Stops at the chunk whose text brings the total to this many bytes (UTF-8) or more, so that a
   * read of a large log holds about this much, not the whole log. @default no limit
   */
  bytes?: number;
}

export interface ArtifactRecord {
  _id: string;
  runId: string;
  name: string;
  jobId: string | null;
  attempt: number | null;
  size: number;
  sha256: string;
  createdAt: number;
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

/** True when an agent offering `offered` may run a job requiring `required`: it offers every one. */
export const labelsFit = (required: readonly string[], offered: readonly string[]): boolean =>
  required.every((label) => offered.includes(label));

/**
 * Agent states. An operator sets `active`, `suspended` and `draining`; an agent is `gone` once it
 * deregistered or was not heard from for the coordinator's `agentGoneAfter`. A gone agent's token
 * is refused, and it never comes back: an agent that returns registers as a new one.
 */
export const AgentState = { active: 'active', suspended: 'suspended', draining: 'draining', gone: 'gone' } as const;
export type AgentState = (typeof AgentState)[keyof typeof AgentState];

export interface AgentRecord {
  _id: string;
  name: string;
  labels: string[];
  state: AgentState;
  tokenHash: string;
  capacity: number;
  registeredAt: number;
  lastHeartbeatAt: number;
  disk: { workspaceBytes: number; freeBytes: number } | null;
  /** When it became `gone`; absent or null while it is not. */
  goneAt?: number | null;
}

/** Roles of user API tokens, from most to least powerful. */
export const Role = { admin: 'admin', maintainer: 'maintainer', viewer: 'viewer' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * A user API token. Requests find it by its hash (`_id`, the one filter every MongoDB-wire server
 * serves from an index); people name it by its `id`.
 */
export interface TokenRecord {
  /** The SHA-256 of the token: tokens are never stored in clear. */
  _id: string;
  /**
   * The token's public id (`tok_…`, or `bootstrap-admin` for the coordinator's `--admin-token`):
   * what lists show and `tokens.revoke` takes. One token per id.
   */
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  /** When it stops being accepted (epoch ms); null: never. */
  expiresAt: number | null;
  /** When it was revoked (epoch ms); null while it is not. */
  revokedAt: number | null;
}

/** A token as lists show it: never its hash, and when it was last used (null: never yet). */
export type TokenSummary = Omit<TokenRecord, '_id'> & { lastUsedAt: number | null };

/**
 * A secret as stored: its value only encrypted (AES-256-GCM, see `secrets/cipher.ts`), never in
 * clear. One per name and scope; `_id` is the name (global) or `NAME@pipeline` (scoped): names
 * have no `@`, so the two never meet.
 */
export interface SecretRecord {
  _id: string;
  name: string;
  /** The pipeline it is given to; null: every pipeline (a pipeline's own of the same name wins). */
  pipeline: string | null;
  /** The random IV, ciphertext and GCM tag of the value, each base64. */
  iv: string;
  ciphertext: string;
  tag: string;
  /** When it was last set (epoch ms). */
  updatedAt: number;
}

/** The `_id` of a secret: its name, or `NAME@pipeline` when it is scoped to a pipeline. */
export const secretIdOf = (name: string, pipeline: string | null): string =>
  pipeline === null ? name : `${name}@${pipeline}`;

/** The order of `listSecrets`: by name, the global one before the scoped ones, then by pipeline. */
export const bySecretOrder = (a: SecretRecord, b: SecretRecord): number => {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.pipeline === b.pipeline) return 0;
  if (a.pipeline === null) return -1;
  if (b.pipeline === null) return 1;
  return a.pipeline < b.pipeline ? -1 : 1;
};

/** Fields of a job that may change after it is created. */
export type JobPatch = Partial<Omit<JobRecord, '_id' | 'runId' | 'name' | 'spec'>>;

/** A condition an update requires, so that a late writer cannot move a job backwards. */
export interface JobGuard {
  states?: readonly JobState[];
  attempt?: number;
  /**
   * The job as the caller read it, when the caller holds the decision for this change (so no
   * one else changes this attempt meanwhile): an adapter that reads the job to check the guard
   * may check it against this instead. Where the guard is part of the update (MongoDB's
   * filter, the memory store), it is still checked there.
   */
  read?: JobRecord;
}

export interface RunQuery {
  pipeline?: string;
  status?: RunStatus;
  /** Runs created before this run's creation, for pagination. */
  before?: number;
  limit: number;
}

/**
 * One cron trigger of a pipeline: `_id` is `<pipeline>/<hash of the cron expression>`, so the
 * same expression keeps its schedule (and its next fire time) across deploys.
 */
export interface ScheduleRecord {
  _id: string;
  pipeline: string;
  /** The cron expression as the pipeline declares it (UTC). */
  cron: string;
  /** False once the pipeline's head no longer declares it. */
  enabled: boolean;
  /** The head version that declared it last. */
  versionId: string;
  /** When it fires next (epoch ms); null when it never will. */
  nextFireAt: number | null;
  /** The tick it last fired for, and the run that tick started. */
  lastFiredAt: number | null;
  lastRunId: string | null;
  /**
   * A tick that fired and whose run is not known to exist yet: set when the tick is decided,
   * cleared once its run is. Tickers create the run of one left set for long (its coordinator
   * died while creating it). Absent on schedules stored before it existed.
   */
  pendingRun?: { tick: number; versionId: string } | null;
  updatedAt: number;
}

/** Fields of a schedule that change after it is written. */
export type SchedulePatch = Partial<Omit<ScheduleRecord, '_id' | 'pipeline' | 'cron'>>;

/** What an event in the events collection reports. */
export type ClusterEventData =
  | { type: 'run'; runId: string; pipeline: string; number: number; status: RunStatus }
  | { type: 'agent'; agentId: string; name: string; state: AgentState }
  | { type: 'job'; runId: string; jobId: string; job: string; attempt: number; state: JobState }
  | { type: 'pipeline'; pipeline: string; versionId: string }
  | { type: 'schedule'; pipeline: string; scheduleId: string; cron: string; tick: number; runId: string | null };

/** The kinds of events. */
export type ClusterEventType = ClusterEventData['type'];

/**
 * An append-only event. `_id` orders events across coordinators: the writer's clock as 15
 * zero-padded digits of milliseconds, then a per-process sequence and a random suffix
 * (see `event-log.ts`).
 */
export type EventRecord = ClusterEventData & { _id: string; at: number };

/** A page of events: those after a cursor, in `_id` order. */
export interface EventQuery {
  /** Events whose `_id` is greater than this (an event id, or a time prefix). */
  after?: string;
  limit: number;
}

/** How a store delivers wake-ups between processes. */
export type WakeupMode = 'local' | 'polling' | 'change-stream';

/** Which queued jobs `findQueuedJobs` returns, and in what order. */
export interface QueuedJobsQuery {
  /** Only the jobs an agent with these labels can run (every label the job requires is among them). */
  labels?: readonly string[];
  /** Jobs whose attempt it returns true for are passed over before they are read, and not counted. */
  skip?: (jobId: string, attempt: number) => boolean;
  /**
   * Start at the `startAt`-th oldest eligible job (0: the oldest, the default) and go on in age
   * order, wrapping around to the oldest; jobs come back in that order. Pullers racing from
   * several coordinators that start at different places do not all go for the same job. When
   * fewer jobs are eligible, `startAt` counts modulo their number.
   */
  startAt?: number;
  /**
   * Jobs may come back as they were when they entered the queue, without being read again: one
   * may have been leased since. A queued attempt leaves the queue only by its lease decision, so
   * a caller that decides the lease before it relies on the job loses nothing. Adapters that
   * read the jobs anyway ignore it.
   */
  copies?: boolean;
}

/**
 * The Store port: all of HiveForge's state. Adapters: `memory` (embedded, tests) and `mongodb`
 * (production). Every adapter passes the same contract tests.
 */
export interface Store {
  /** Inserts a decision unless one with the same `_id` exists; returns the decision in force. */
  decide<T extends object>(id: string, data: T): Promise<Decided<T>>;
  getDecision<T>(id: string): Promise<Decision<T> | null>;

  putPipelineVersion(version: PipelineVersionRecord): Promise<void>;
  getPipelineVersion(id: string): Promise<PipelineVersionRecord | null>;
  setPipelineHead(name: string, versionId: string, at: number): Promise<void>;
  getPipeline(name: string): Promise<PipelineRecord | null>;
  listPipelines(): Promise<PipelineRecord[]>;

  /**
   * The versions of a pipeline, newest first (by `createdAt`, then id), as summaries. Every
   * version stored by `putPipelineVersion` is listed once, however often it is stored again. A
   * `before` that is not a version of the pipeline lists nothing.
   */
  listPipelineVersions(pipeline: string, query: PipelineVersionQuery): Promise<PipelineVersionSummary[]>;

  insertRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | null>;
  updateRun(id: string, patch: Partial<Omit<RunRecord, '_id'>>): Promise<void>;
  listRuns(query: RunQuery): Promise<RunRecord[]>;
  /** The highest run number of a pipeline, 0 when it has none. */
  lastRunNumber(pipeline: string): Promise<number>;

  /**
   * Inserts jobs. If one of them is stored already, none is inserted (`ConflictError`), unless
   * `keepExisting`: then those stored are kept as they are and the others inserted, which
   * finishes an insert that a coordinator died in (see `triggerRun`).
   */
  insertJobs(jobs: readonly JobRecord[], options?: { keepExisting?: boolean }): Promise<void>;
  /**
   * A job. Its `leaseExpiresAt` includes the renewals (`renewLease`), unless `lease: false`:
   * callers that do not look at the expiry let an adapter that keeps renewals apart skip reading
   * them (the MongoDB adapter then reads one document instead of two).
   */
  getJob(id: string, options?: { lease?: boolean }): Promise<JobRecord | null>;
  listJobs(runId: string): Promise<JobRecord[]>;
  /** Applies `patch` when the guard holds; returns whether it did. */
  updateJob(id: string, patch: JobPatch, guard?: JobGuard): Promise<boolean>;
  /**
   * Extends the lease of a job's attempt to `expiresAt` while that attempt is leased or running
   * (renewals only extend); returns whether it did. Reads of the job, and `findExpiredLeases`,
   * see the renewal. Adapters may keep renewals apart from the rest of the job, so that a
   * heartbeat never races with the job's state changes: unlike `updateJob`, a renewal changes
   * nothing else.
   */
  renewLease(jobId: string, attempt: number, expiresAt: number): Promise<boolean>;
  /** Queued jobs, oldest ready first (see {@link QueuedJobsQuery} for which and in what order). */
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

  /** Stores log chunks; a chunk whose `_id` exists already is ignored. Returns how many were new. */
  appendLogChunks(chunks: readonly LogChunkRecord[]): Promise<number>;
  /**
   * Chunks of one job, ordered by attempt then sequence, after the given position: at most
   * `limit` chunks (a number is `{ chunks: limit }`), and with `limit.bytes`, no more than it
   * takes to reach that many bytes of text (the chunk that reaches it is the last one read).
   */
  readLogChunks(
    jobId: string,
    after?: { attempt: number; seq: number },
    limit?: number | LogReadLimit,
  ): Promise<LogChunkRecord[]>;

  putArtifact(meta: ArtifactRecord, data: Buffer): Promise<void>;
  getArtifact(id: string): Promise<{ meta: ArtifactRecord; data: Buffer } | null>;
  listArtifacts(runId: string): Promise<ArtifactRecord[]>;

  putAgent(agent: AgentRecord): Promise<void>;
  getAgent(id: string): Promise<AgentRecord | null>;
  getAgentByTokenHash(hash: string): Promise<AgentRecord | null>;
  updateAgent(id: string, patch: Partial<Omit<AgentRecord, '_id'>>): Promise<void>;
  listAgents(): Promise<AgentRecord[]>;
  /** Agents not `gone` whose last heartbeat is before `before`, the longest silent first, at most `limit`. */
  findSilentAgents(before: number, limit: number): Promise<AgentRecord[]>;
  /** Deletes an agent if it is `gone`; returns whether it did (false when it is unknown or not gone). */
  removeGoneAgent(id: string): Promise<boolean>;

  /**
   * Stores a token by its hash (insert or replace). Any other token with the same `id` is
   * deleted: a token stored under a fixed id (the bootstrap admin token) replaces the one before.
   */
  putToken(token: TokenRecord): Promise<void>;
  getToken(hash: string): Promise<TokenRecord | null>;
  /** Every token, oldest first (by `createdAt`, then `id`), with when each was last used. */
  listTokens(): Promise<TokenSummary[]>;
  /**
   * Marks the token with this `id` revoked at `at`, unless it is already (the first revocation's
   * time stays); returns the token as it is now, or null when no token has this id.
   */
  revokeToken(id: string, at: number): Promise<TokenSummary | null>;
  /**
   * Records that a token was used at `at`: a later time is kept over an earlier one written
   * before it (of two written at the same moment, a server that updates by read-then-replace,
   * FerretDB, may keep either: last uses are minutes apart, not milliseconds). Kept apart
   * from the token's record, so that a use written while the token is revoked never undoes the
   * revocation, and `getToken` need not return it.
   */
  touchToken(hash: string, at: number): Promise<void>;

  /** Stores a secret (insert or replace by `_id`). */
  putSecret(secret: SecretRecord): Promise<void>;
  /** Every secret, by name then scope (global first): what `secrets.list` shows, less the values. */
  listSecrets(): Promise<SecretRecord[]>;
  /**
   * The secrets with these names that a job of `pipeline` may have: the pipeline's own and the
   * global ones (both, when both exist; the caller prefers the pipeline's), by `_id` only.
   */
  getSecretsFor(names: readonly string[], pipeline: string): Promise<SecretRecord[]>;
  /** Deletes the secret with this `_id`; returns whether there was one. */
  removeSecret(id: string): Promise<boolean>;

  // ---- schedules and events ----

  /** Writes a schedule whole (insert or replace). */
  putSchedule(schedule: ScheduleRecord): Promise<void>;
  getSchedule(id: string): Promise<ScheduleRecord | null>;
  /** Schedules ordered by `_id`; with `pipeline`, only that pipeline's. */
  listSchedules(pipeline?: string): Promise<ScheduleRecord[]>;
  /**
   * Applies `patch`; with `expectedNextFireAt`, only while the schedule's next fire time is still
   * that (so that a late writer does not move it back). Returns whether it applied.
   */
  updateSchedule(id: string, patch: SchedulePatch, expectedNextFireAt?: number | null): Promise<boolean>;
  /** Enabled schedules whose next fire time is at or before `now`, earliest first. */
  findDueSchedules(now: number, limit: number): Promise<ScheduleRecord[]>;

  /** Appends events; one whose `_id` exists already is ignored. */
  appendEvents(events: readonly EventRecord[]): Promise<void>;
  /** Events in `_id` order, after `query.after`. */
  listEvents(query: EventQuery): Promise<EventRecord[]>;
  /** Deletes the events whose `_id` is less than `id` (retention); returns how many. */
  deleteEventsBefore(id: string): Promise<number>;
  /** How wake-ups reach other processes: `local` (one process only), `polling` or `change-stream`. */
  wakeupMode(): WakeupMode;

  /**
   * Wakes those waiting on `topic`: in this process at once, and in others where the adapter
   * can. With `within`, waiters in other processes may hear of it up to that many milliseconds
   * later, which lets an adapter write a busy topic less often (a run's topic, notified for
   * every lease and completion, is watched by people, not by dispatch).
   */
  notify(topic: string, options?: { within?: number }): void;
  /** Calls `listener` when `topic` is notified; returns the unsubscribe function. */
  subscribe(topic: string, listener: () => void): () => void;

  /**
   * One cheap round trip to the store (MongoDB's `ping`), for readiness checks: resolves when
   * the store answers, rejects with a `StoreUnavailableError` when it cannot be reached.
   */
  ping(): Promise<void>;

  close(): Promise<void>;
}
