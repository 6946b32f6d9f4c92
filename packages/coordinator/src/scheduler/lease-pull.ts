import type { JobSpec } from '@hiveforge/sdk';
import { type AgentRecord, type JobRecord, JobState, type RunTrigger, labelsFit } from '../store/types.js';
import { takeTurn } from './concurrency-groups.js';
import type { SchedulerContext } from './context.js';
import { DecisionIds, attemptKey } from './decision-ids.js';
import { holds } from './lease-fence.js';
import { leaseSecretsOf } from './lease-secrets.js';
import { originOf, specOf } from './run-origins.js';
import { notifyRun } from './topics.js';

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
     * Reads the agent's record again: called once, alongside the first read of candidates, by a
     * pull whose record may be stale. An agent no longer active then leases nothing.
     */
    recheck?: () => Promise<AgentRecord>;
  } = {},
): Promise<Lease | null> {
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
  const findCandidates = async (spread = 0) => {
    const count = candidates();
    const stopLooking = claims.startLooking();
    try {
      return await store.findQueuedJobs(count, { labels: agent.labels, skip, spread });
    } finally {
      stopLooking();
    }
  };
  // The agent's record is read again at the same time, not once a candidate is found: a woken
  // pull then waits for one round trip fewer before its lease decision.
  const [previous, oldest, current] = await Promise.all([
    resent ? leaseOfRequest(ctx, agent._id, requestId) : null,
    agent.state === 'active' ? findCandidates(contended ? hashOf(agent._id + requestId) % DISPATCH_SPREAD : 0) : null,
    agent.state === 'active' && recheck ? recheck() : null,
  ]);
  if (previous) return buildLease(ctx, previous);
  if (agent.state !== 'active' || (current && current.state !== 'active')) return null;
  // Only jobs this agent can run: the store filters by labels, so a backlog of jobs for other
  // agents does not hide them. A few candidates at a time; when every one was lost to pulls of
  // other coordinators (or was not its group's turn), the next few.
  for (let round = 0; round < DISPATCH_ROUNDS; round++) {
    const queued = round === 0 && oldest ? oldest : await findCandidates();
    if (queued.length === 0) return null;
    for (const job of queued) {
      tried.add(attemptKey(job._id, job.attempt));
      if (!labelsFit(job.spec.labels, agent.labels)) continue;
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
 * coordinator that lost the store before recording it on the job was never told to anyone: the
 * resend records it when it tries that job, and otherwise the attempt is leased again, as the
 * same attempt, once the decision is a lease TTL old (see `tryLease`).
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

/**
 * The most lease rounds one try walks for an attempt (see `DecisionIds.lease`). Each later round
 * follows a decision that was never recorded on the job, one per pull that lost the store at
 * that moment: a few at most.
 */
const LEASE_ROUNDS_MAX = 8;

/**
 * Tries to lease one candidate: decides its lease, then records it on the job.
 *
 * A lease decided but not recorded on the job (its coordinator lost the store in between) was
 * handed to no agent: a lease reaches an agent only once it is recorded, and only a recorded
 * lease can be started. Its request's resend records it and gets it (the resend may also be
 * answered with another job, see `leaseJob`). Once such a decision is older than a lease TTL, and
 * the store has answered for one (see `LeaseGrace`), the attempt is leased again, as the same
 * attempt, through the next lease round: it never ran, so it does not count as an attempt, nor
 * against the job's retries.
 */
async function tryLease(ctx: SchedulerContext, agent: AgentRecord, requestId: string, job: JobRecord): Promise<Leased> {
  const { store } = ctx;
  const none: Leased = { leased: false, decided: false, lease: null };
  const taken: Leased = { leased: false, decided: true, lease: null };
  // A trigger stores a run's jobs before the run: between the two writes its jobs are not
  // leasable yet (a lease could not be built), and are left for the pull after.
  if (!(await originOf(ctx, job.runId))) return none;
  if (job.spec.concurrency && !(await takeTurn(ctx, job.spec.concurrency, { jobId: job._id, attempt: job.attempt })))
    return none;
  for (let round = 1; ; round++) {
    const deciding = ctx.progress.mark();
    const { won, decision } = await store.decide<LeaseDecision>(DecisionIds.lease(job._id, job.attempt, round), {
      agentId: agent._id,
      requestId,
    });
    // The job was queued when this decision was inserted: its run goes on (see `RunProgress`).
    if (won) ctx.progress.leased(job.runId, deciding);
    if (won || (decision.data.agentId === agent._id && decision.data.requestId === requestId)) {
      if (decision.data.cancelled) return taken;
      return recordLease(ctx, agent, requestId, job, { won, round });
    }
    ctx.claims.lostRace();
    if (decision.data.cancelled || round >= LEASE_ROUNDS_MAX || !(await unrecorded(ctx, job, decision.at)))
      return taken;
  }
}

/**
 * Whether the lease decided at `decidedAt` for the job's attempt, by another request, was never
 * recorded and will not be: the job is still queued at that attempt a lease TTL later, and the
 * store has answered for a lease TTL (not while it is coming back, see `LeaseGrace`: the
 * decider's record, or its request's resend, may still be on its way).
 */
async function unrecorded(ctx: SchedulerContext, job: JobRecord, decidedAt: number): Promise<boolean> {
  const now = ctx.clock.now();
  if (now - decidedAt <= ctx.config.leaseTtlMs || !ctx.leaseGrace.settled(now)) return false;
  const fresh = await ctx.store.getJob(job._id);
  return fresh?.state === JobState.queued && fresh.attempt === job.attempt;
}

/** Records on the job a lease decided for this request (won now, or found on a resend). */
async function recordLease(
  ctx: SchedulerContext,
  agent: AgentRecord,
  requestId: string,
  job: JobRecord,
  { won, round }: { won: boolean; round: number },
): Promise<Leased> {
  const { store } = ctx;
  const taken: Leased = { leased: false, decided: true, lease: null };
  const now = ctx.clock.now();
  // The candidate as found (maybe as it entered the queue) is the job as it is: a queued
  // attempt leaves that state only through its lease decisions (a lease recorded, or a cancel),
  // and this pull won the first. Not so in a later round, which follows a decision whose record
  // might still land: the guards are checked on the job as stored.
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
    decidedOn: won && round === 1 ? job : undefined,
  });
  if (!updated) {
    // A resend that found its own decision, whose job moved on meanwhile: the coordinator that
    // decided may have recorded it late (its store went away and came back mid-pull), and then
    // this request's lease is that one, to hand over rather than leave to expire.
    const fresh = won ? null : await store.getJob(job._id);
    if (fresh?.leaseRequestId !== requestId || !holds(fresh, agent._id, job.attempt)) return taken;
    return { leased: true, decided: true, lease: await buildLease(ctx, fresh) };
  }
  const leased: JobRecord = { ...job, ...patch };
  ctx.leased.leased(leased);
  const lease = await buildLease(ctx, leased);
  notifyRun(store, job.runId);
  return { leased: true, decided: true, lease };
}
