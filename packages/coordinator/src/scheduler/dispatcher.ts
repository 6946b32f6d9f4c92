import { FencedError, type JobSpec, NotFoundError } from '@hiveforge/sdk';
import {
  type AgentRecord,
  type AttemptFingerprint,
  type Decision,
  type JobRecord,
  JobState,
  type RunTrigger,
  labelsFit,
} from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { originOf, specOf } from './run-origins.js';
import { notifyRun } from './topics.js';
import { type AttemptEnd, type AttemptResult, applyAttemptEnd, shouldRetry } from './dag.js';
import { takeTurn } from './concurrency-groups.js';
import { DecisionIds, attemptKey } from './decision-ids.js';
import { leaseSecretsOf } from './lease-secrets.js';

/** What an agent is given when it leases a job. */
export interface Lease {
  jobId: string;
  runId: string;
  pipeline: string;
  versionId: string;
  name: string;
  attempt: number;
  spec: JobSpec;
  trigger: RunTrigger;
  /** Pipeline env merged with job env. */
  env: Record<string, string>;
  /** Outputs of the jobs this job needs, by job name. */
  needsOutputs: Record<string, Record<string, string>>;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  /** When the job became ready, and when this lease was decided (coordinator clock). */
  readyAt: number | null;
  leasedAt: number | null;
  /**
   * The values of the stored secrets the job declares, by name (a pipeline's own before a global
   * one). Only in the lease given to the agent: never stored or logged. @default {}
   */
  secrets?: Record<string, string>;
  /** Declared secrets kept from the job because its run is a pull request from a fork. @default [] */
  withheldSecrets?: string[];
}

interface LeaseDecision {
  agentId: string | null;
  requestId: string | null;
  cancelled?: boolean;
}

const hashOf = (text: string) => {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  return Math.abs(h);
};

/**
 * How many of the oldest ready jobs one pull reads at a time. Each costs the store a read, and
 * pulls of one coordinator never race each other for a job (see `LocalClaims`), so a pull needs
 * only the one it tries, plus one for each pull of this coordinator reading at the same time
 * (they see the same oldest jobs, and claim them first), up to `DISPATCH_CANDIDATES_MAX`. Once
 * this coordinator has lost a lease to another one lately, at least two, in case another
 * coordinator took the first.
 */
const DISPATCH_CANDIDATES = 1;
const DISPATCH_CANDIDATES_CONTENDED = 2;
const DISPATCH_CANDIDATES_MAX = 8;
/**
 * Among how many of the oldest ready jobs a pull's first round starts (by a hash of its agent
 * and request) once this coordinator has lost a lease to another one lately: pulls of other
 * coordinators, which this one's claims do not cover, then seldom race for the same job. Without
 * such losses (one coordinator, or a quiet queue) pulls take the oldest job.
 */
const DISPATCH_SPREAD = 16;
/** How many times one pull takes the next candidates when it could lease none of the last. */
const DISPATCH_ROUNDS = 4;

/** For reads of a job that do not look at its lease's expiry (see `Store.getJob`). */
const NO_LEASE = { lease: false } as const;

async function buildLease(ctx: SchedulerContext, job: JobRecord): Promise<Lease | null> {
  const [run, needs] = await Promise.all([
    originOf(ctx, job.runId),
    Promise.all(job.spec.needs.map((need) => ctx.store.getJob(`${job.runId}/${need}`))),
  ]);
  if (!run) return null;
  const spec = await specOf(ctx, run.versionId);
  if (!spec) return null;
  const needsOutputs: Record<string, Record<string, string>> = {};
  job.spec.needs.forEach((need, i) => {
    const dep = needs[i];
    if (dep) needsOutputs[need] = dep.outputs;
  });
  return {
    jobId: job._id,
    runId: job.runId,
    pipeline: run.pipeline,
    versionId: run.versionId,
    name: job.name,
    attempt: job.attempt,
    spec: job.spec,
    trigger: run.trigger,
    env: { ...spec.env, ...job.spec.env },
    needsOutputs,
    leaseTtlMs: ctx.config.leaseTtlMs,
    heartbeatIntervalMs: ctx.config.heartbeatIntervalMs,
    readyAt: job.readyAt,
    leasedAt: job.leasedAt,
    ...(await leaseSecretsOf(ctx, job.spec.secrets, run.pipeline, run.trigger)),
  };
}

/**
 * Declares an attempt lost (or otherwise ended) by decision, and applies whatever won. When this
 * call won, `between` runs once the job is updated (see `applyAttemptEnd`).
 */
export async function endAttempt(
  ctx: SchedulerContext,
  job: JobRecord,
  kind: AttemptEnd['kind'],
  result: AttemptResult,
  agentId: string | null,
  between?: () => Promise<void>,
): Promise<{ won: boolean; end: AttemptEnd }> {
  const retry = shouldRetry(job, kind, result, ctx.config.maxLostAttempts);
  const { won, decision } = await ctx.store.decide<AttemptEnd>(DecisionIds.attemptEnd(job._id, job.attempt), {
    kind,
    agentId,
    result,
    retry,
  });
  // When this call decided, the job is as read just before: no need to read it again.
  await applyAttemptEnd(ctx, job._id, job.attempt, decision.data, won ? job : undefined, won ? between : undefined);
  return { won, end: decision.data };
}

const LOST: AttemptResult = {
  status: 'failed',
  exitCode: null,
  error: 'the agent stopped renewing its lease',
  outputs: {},
};

/**
 * Tries to lease one ready job to an agent. The lease is a decision on `job/attempt/lease`; on a
 * lost race the next job is tried. A retried request id gets the lease it was given before;
 * `resent: false` says the request id is new, so there is no earlier lease to look up.
 */
export async function leaseJob(
  ctx: SchedulerContext,
  agent: AgentRecord,
  requestId: string,
  {
    resent = true,
    recheck,
  }: {
    resent?: boolean;
    /**
     * Reads the agent's record again: called once, before the first lease is tried, by a pull
     * whose record may be stale. An agent no longer active then leases nothing.
     */
    recheck?: () => Promise<AgentRecord>;
  } = {},
): Promise<Lease | null> {
  let unchecked = recheck;
  const { store, claims } = ctx;
  // Candidates this pull tried, and those other pulls of this coordinator are trying or have
  // just leased, are passed over before the store reads them.
  const tried = new Set<string>();
  const skip = (jobId: string, attempt: number) => tried.has(attemptKey(jobId, attempt)) || claims.has(jobId, attempt);
  // The request's earlier lease, if it may have one, and the oldest candidates, read at once:
  // the candidates are wasted only on a retried request.
  const contended = claims.contended;
  const candidates = () =>
    Math.min(
      DISPATCH_CANDIDATES_MAX,
      (contended ? DISPATCH_CANDIDATES_CONTENDED : DISPATCH_CANDIDATES) + claims.looking,
    );
  const findCandidates = async (startAt = 0) => {
    const count = candidates();
    const stopLooking = claims.startLooking();
    try {
      return await store.findQueuedJobs(count, { labels: agent.labels, skip, startAt, copies: true });
    } finally {
      stopLooking();
    }
  };
  const [previous, oldest] = await Promise.all([
    resent ? leaseOfRequest(ctx, agent._id, requestId) : null,
    agent.state === 'active' ? findCandidates(contended ? hashOf(agent._id + requestId) % DISPATCH_SPREAD : 0) : null,
  ]);
  if (previous) return buildLease(ctx, previous);
  if (agent.state !== 'active') return null;
  // Only jobs this agent can run: the store filters by labels, so a backlog of jobs for other
  // agents does not hide them. A few candidates at a time; when every one was lost to pulls of
  // other coordinators (or was not its group's turn), the next few.
  for (let round = 0; round < DISPATCH_ROUNDS; round++) {
    const queued = round === 0 && oldest ? oldest : await findCandidates();
    if (queued.length === 0) return null;
    for (const job of queued) {
      tried.add(attemptKey(job._id, job.attempt));
      if (!labelsFit(job.spec.labels, agent.labels)) continue;
      if (unchecked) {
        const current = await unchecked();
        unchecked = undefined;
        if (current.state !== 'active') return null;
      }
      if (!claims.claim(job._id, job.attempt)) continue;
      let outcome: Leased = { leased: false, decided: false, lease: null };
      try {
        outcome = await tryLease(ctx, agent, requestId, job);
      } finally {
        claims.release(job._id, job.attempt, outcome.decided);
      }
      if (outcome.lease) return outcome.lease;
    }
  }
  return null;
}

/**
 * The job a pull with this request id was leased, if the agent still holds it: a resend (the
 * reply was lost) gets that lease again. The job records the request id with the lease, in the
 * same update, so a lease the agent could have been told of is found; one decided by a
 * coordinator that died before recording it on the job was never told to anyone, and is
 * declared lost once its TTL is over (see `tryLease`).
 */
async function leaseOfRequest(ctx: SchedulerContext, agentId: string, requestId: string): Promise<JobRecord | null> {
  const held = await ctx.store.findJobsOfAgent(agentId);
  return held.find((job) => job.leaseRequestId === requestId && holds(job, agentId, job.attempt)) ?? null;
}

/** Whether a pull leased a job, and the lease it hands the agent (null if none could be built). */
interface Leased {
  leased: boolean;
  /**
   * Whether the attempt's lease is decided (this pull won, or lost to another): then no pull
   * can lease that attempt any more, and this coordinator's pulls pass it over for a while.
   */
  decided: boolean;
  lease: Lease | null;
}

/** Tries to lease one candidate: decides its lease, then records it on the job. */
async function tryLease(ctx: SchedulerContext, agent: AgentRecord, requestId: string, job: JobRecord): Promise<Leased> {
  const { store } = ctx;
  const none: Leased = { leased: false, decided: false, lease: null };
  const taken: Leased = { leased: false, decided: true, lease: null };
  // A trigger stores a run's jobs before the run: between the two writes its jobs are not
  // leasable yet (a lease could not be built), and are left for the pull after.
  if (!(await originOf(ctx, job.runId))) return none;
  if (job.spec.concurrency && !(await takeTurn(ctx, job.spec.concurrency, { jobId: job._id, attempt: job.attempt })))
    return none;
  const deciding = ctx.progress.mark();
  const { won, decision } = await store.decide<LeaseDecision>(DecisionIds.lease(job._id, job.attempt), {
    agentId: agent._id,
    requestId,
  });
  // The job was queued when this decision was inserted: its run goes on (see `RunProgress`).
  if (won) ctx.progress.leased(job.runId, deciding);
  if (!won) {
    const mine = decision.data.agentId === agent._id && decision.data.requestId === requestId;
    if (!mine) {
      ctx.claims.lostRace();
      // A coordinator may have won this lease and died before recording it on the job (or its
      // pull failed with the store: not while the store is coming back, see `LeaseGrace`).
      const now = ctx.now();
      if (now - decision.at > ctx.config.leaseTtlMs && ctx.leaseGrace.settled(now)) {
        const fresh = await store.getJob(job._id);
        if (fresh?.state === JobState.queued && fresh.attempt === job.attempt)
          await endAttempt(ctx, fresh, 'lost', LOST, null);
      }
      return taken;
    }
  }
  if (decision.data.cancelled) return taken;
  const now = ctx.now();
  // The candidate as read (or as it entered the queue: `copies`) is the job as it is: a queued
  // attempt leaves that state only by its lease decision (leased or cancelled, or lost once a
  // lease was decided), which this pull won.
  // A resend that found its own decision reads the job again: it may have moved on since.
  const patch = {
    state: JobState.leased,
    agentId: agent._id,
    leasedAt: now,
    leaseExpiresAt: now + ctx.config.leaseTtlMs,
    leaseRequestId: requestId,
  };
  const updated = await store.updateJob(job._id, patch, {
    states: [JobState.queued],
    attempt: job.attempt,
    read: won ? job : undefined,
  });
  if (!updated) return taken;
  const leased: JobRecord = { ...job, ...patch };
  ctx.leased.leased(leased);
  const lease = await buildLease(ctx, leased);
  notifyRun(store, job.runId);
  return { leased: true, decided: true, lease };
}

/** Whether the job, as read, is leased to or run by `agentId` at `attempt`. */
const holds = (job: JobRecord, agentId: string, attempt: number) =>
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

/** A job (without its lease's renewals) and its attempt's end decision, read at once. */
const readAttempt = (ctx: SchedulerContext, jobId: string, attempt: number) =>
  Promise.all([
    ctx.store.getJob(jobId, NO_LEASE),
    ctx.store.getDecision<AttemptEnd>(DecisionIds.attemptEnd(jobId, attempt)),
  ]);

/** The check of {@link requireCurrentAttempt} on a job and its attempt-end decision already read. */
function checkCurrentAttempt(
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

/** What the start decision of an attempt holds. */
export interface AttemptStart {
  agentId: string;
  fingerprint: AttemptFingerprint;
}

/**
 * Marks a leased job as running. With a fingerprint, records it twice, written at once: on the
 * job, for the current attempt (what `runs.get` shows), and as the attempt's start decision, for
 * the history (`runs.attempts`), since the job record holds only its current attempt.
 */
export async function startJob(
  ctx: SchedulerContext,
  agentId: string,
  jobId: string,
  attempt: number,
  fingerprint: AttemptFingerprint | null = null,
): Promise<void> {
  const job = await requireCurrentAttempt(ctx, agentId, jobId, attempt);
  const markRunning = async () => {
    if (job.state !== JobState.leased) return;
    const patch = {
      state: JobState.running,
      startedAt: ctx.now(),
      ...(fingerprint ? { fingerprint: { ...fingerprint, attempt } } : {}),
    };
    if (await ctx.store.updateJob(jobId, patch, { attempt, states: [JobState.leased] }))
      ctx.leased.started(jobId, attempt, patch);
    notifyRun(ctx.store, job.runId);
  };
  // Both writes are awaited together, so that when one fails (a store outage) the other's
  // failure is handled too, never left to reject unobserved.
  await Promise.all([
    fingerprint
      ? ctx.store.decide<AttemptStart>(DecisionIds.attemptStart(jobId, attempt), { agentId, fingerprint })
      : null,
    markRunning(),
  ]);
}

/** What a heartbeat tells the agent about one of its leases. */
export type LeaseStatus = 'ok' | 'cancel' | 'lost';

/** Renews the leases an agent holds; tells it which to cancel and which it lost. */
export async function renewLeases(
  ctx: SchedulerContext,
  agentId: string,
  leases: readonly { jobId: string; attempt: number }[],
): Promise<Record<string, LeaseStatus>> {
  const out: Record<string, LeaseStatus> = {};
  // All at once: a heartbeat that renews its leases one after the other takes as long as all
  // their round trips, and a lease it reaches late may expire meanwhile.
  await Promise.all(
    leases.map(async ({ jobId, attempt }) => {
      // The attempt's end decision too: an end decided but not applied yet (its coordinator died,
      // or on a server without atomic guards the lease's update landed after it) still reaches
      // the agent on this heartbeat, and is applied.
      const [job, ended] = await readAttempt(ctx, jobId, attempt);
      const key = attemptKey(jobId, attempt);
      if (ended) {
        // Applied without holding up the answer: applying resolves the run, which on a busy run
        // (a fan-out whose jobs keep finishing) can take seconds, while the agent's other leases
        // wait for this heartbeat to be renewed. A failed apply is repaired by the sweeper.
        void applyAttemptEnd(ctx, jobId, attempt, ended.data).catch(() => {});
        out[key] = ended.data.kind === 'cancelled' ? 'cancel' : 'lost';
      } else if (!job || job.attempt !== attempt || job.agentId !== agentId) {
        out[key] = 'lost';
      } else if (job.state === JobState.cancelled) {
        out[key] = 'cancel';
      } else if (job.state !== JobState.leased && job.state !== JobState.running) {
        out[key] = 'lost';
      } else {
        const renewed = await ctx.store.renewLease(jobId, attempt, ctx.now() + ctx.config.leaseTtlMs);
        out[key] = renewed ? 'ok' : 'lost';
      }
    }),
  );
  return out;
}

/** The pull an agent sends with its completion, for its next job. */
export interface NextPull<T> {
  pull(): Promise<T>;
  /** Whether the pull may wait for a job to become ready (then it runs after the resolution). */
  waits: boolean;
}

/**
 * Records how an attempt ended. The end is a decision: a completion that loses to "lost" (or
 * to a cancellation) is rejected, and a replay of the same completion is accepted once.
 *
 * With `next`, the agent's next pull runs once the end is recorded, and its outcome is returned:
 * a pull that does not wait runs before the run's resolution when that can only end the run, so
 * that a lease it wins spares the read of the run's witness (see `applyAttemptEnd`). A
 * completion that is rejected pulls nothing.
 */
export async function completeJob<T = never>(
  ctx: SchedulerContext,
  agentId: string,
  input: { jobId: string; attempt: number; result: AttemptResult },
  next?: NextPull<T>,
): Promise<{ duplicate: boolean; next: T | null }> {
  const pulled: { value?: T } = {};
  const pull = next
    ? async () => {
        pulled.value = await next.pull();
      }
    : undefined;
  const { duplicate } = await recordCompletion(ctx, agentId, input, next?.waits === false ? pull : undefined);
  if (pull && !('value' in pulled)) await pull();
  return { duplicate, next: 'value' in pulled ? (pulled.value as T) : null };
}

async function recordCompletion(
  ctx: SchedulerContext,
  agentId: string,
  input: { jobId: string; attempt: number; result: AttemptResult },
  between: (() => Promise<void>) | undefined,
): Promise<{ duplicate: boolean }> {
  // The job as this coordinator leased it to the agent, if it did: see `LeasedJobs`.
  const job = ctx.leased.take(input.jobId, input.attempt, agentId) ?? (await ctx.store.getJob(input.jobId, NO_LEASE));
  if (!job) throw new NotFoundError(`no job '${input.jobId}'`);
  const check = (end: AttemptEnd) => {
    if (end.kind === 'completed' && end.agentId === agentId && end.result.status === input.result.status)
      return { duplicate: true };
    throw new FencedError(
      `attempt ${input.attempt} of job '${input.jobId}' already ended (${end.kind}${end.kind === 'completed' ? `: ${end.result.status}` : ''}); this completion is rejected`,
    );
  };
  if (!holds(job, agentId, input.attempt)) {
    // The attempt ended already (a replayed completion, a lost lease, a cancellation) or was
    // never this agent's: its end decision, if any, tells which, and is applied in case a
    // coordinator died before it was.
    const existing = await ctx.store.getDecision<AttemptEnd>(DecisionIds.attemptEnd(input.jobId, input.attempt));
    if (existing) {
      await applyAttemptEnd(ctx, input.jobId, input.attempt, existing.data);
      return check(existing.data);
    }
    checkCurrentAttempt(job, null, agentId, input.jobId, input.attempt);
  }
  // The job says the agent holds the attempt. An end decided but not yet applied wins over this
  // one below (and is applied then), so the decision need not be read first.
  const { won, end } = await endAttempt(ctx, job, 'completed', input.result, agentId, between);
  return won ? { duplicate: false } : check(end);
}

/**
 * Declares the expired leases lost, once, whichever coordinator gets there first; none while
 * this coordinator's sweeps see the store fail or stall, nor for a lease TTL after (see
 * `LeaseGrace`: `ctx.store` is the watched store of the sweeps).
 */
export async function sweepExpiredLeases(ctx: SchedulerContext): Promise<number> {
  const expired = await ctx.store.findExpiredLeases(ctx.now(), 256);
  if (expired.length > 0 && !ctx.leaseGrace.settled(ctx.now())) return 0;
  let declared = 0;
  for (const job of expired) {
    const { won } = await endAttempt(ctx, job, 'lost', LOST, job.agentId);
    if (won) declared++;
  }
  return declared;
}
