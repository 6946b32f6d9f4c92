import { AttemptCause, type JobRecord, JobState, type RunStatus, isTerminal } from '../store/types.js';
import { remember } from './bounded-map.js';
import type { SchedulerContext } from './context.js';
import { DecisionIds } from './decision-ids.js';
import { Topics, notifyRun } from './topics.js';

/**
 * What is left to do once an attempt's end is applied to its job: resolving its run (see
 * {@link settleRun}). `since` is a mark of this coordinator's order of events taken once the job
 * was updated (see `RunProgress`).
 */
export interface Settlement {
  job: JobRecord;
  since: number;
}

/** Resolves the run of a job whose attempt ended before `since`, unless nothing can come of it. */
export async function settleRun(ctx: SchedulerContext, { job, since }: Settlement): Promise<void> {
  if (await stillBlocked(ctx, job, since)) return;
  await resolveRun(ctx, job.runId);
}

/**
 * Whether settling can only end the run: no waiting job needs the ended job (as far as the run's
 * last resolution knows, or, where this coordinator has not resolved the run, as its spec says).
 */
export function endsRunOnly(ctx: SchedulerContext, { job }: Settlement): boolean {
  const blockers = ctx.blockers.get(job.runId);
  if (blockers) return (blockers.dependents.get(job.name)?.length ?? 0) === 0;
  return neededInSpec(ctx, job) === false;
}

/** How many pipeline versions' needed job names are kept (see `SchedulerContext.needed`). */
const NEEDED_VERSIONS = 256;

/**
 * Whether a job of the run's pipeline version needs `job`, by the version's spec; null when this
 * coordinator holds neither the run's origin nor that spec (it leased none of the run's jobs).
 */
function neededInSpec(ctx: SchedulerContext, job: JobRecord): boolean | null {
  const origin = ctx.origins.get(job.runId);
  const spec = origin && ctx.specs.get(origin.versionId);
  if (!origin || !spec) return null;
  let needed = ctx.needed.get(origin.versionId);
  if (!needed) {
    needed = new Set(spec.jobs.flatMap((j) => j.needs));
    remember(ctx.needed, origin.versionId, NEEDED_VERSIONS, needed);
  }
  return needed.has(job.name);
}

/**
 * True when what the run's last resolution found unfinished still is: the run's witness, and a
 * need of each waiting job that needs `job`. Then this attempt's end frees no job and ends no
 * run, and resolving the run (which reads all its jobs) can be skipped. Reads are fresh, so two
 * coordinators ending the last two blockers at once cannot both skip: each updates its job
 * before it reads the other's. A read is fresh if it starts after the update, so completions
 * that ask while a read of the same witness is in flight share the next one (`FreshReads`).
 *
 * A lease of a job of the run won here by a decision that started after `since` (taken once the
 * job was updated) shows as well as a fresh read that the run goes on (see `RunProgress`): then
 * the run's witness is not read. Without a last resolution here, such a lease is enough when the
 * run's spec says no job needs the ended one.
 */
async function stillBlocked(ctx: SchedulerContext, job: JobRecord, since: number): Promise<boolean> {
  const blockers = ctx.blockers.get(job.runId);
  // A coordinator that never resolved the run (another one created it) knows no witness, but
  // when no job needs the ended one (by the spec), a lease shows as well that the run goes on:
  // without it, the run would be read whole after every completion.
  if (!blockers) return neededInSpec(ctx, job) === false && ctx.progress.leasedSince(job.runId, since);
  const witnesses = new Set<string | undefined>();
  if (!ctx.progress.leasedSince(job.runId, since)) witnesses.add(blockers.run);
  for (const dependent of blockers.dependents.get(job.name) ?? []) witnesses.add(blockers.needs.get(dependent));
  if (witnesses.has(undefined) || witnesses.has(job._id)) return false;
  const found = await Promise.all([...witnesses].map((id) => ctx.witnesses.after(id as string)));
  return found.every((w) => w !== null && !isTerminal(w.state));
}

/** Remembers what of a run is unfinished in `jobs` (every job of the run), for `stillBlocked`. */
export function rememberBlockers(ctx: SchedulerContext, runId: string, jobs: readonly JobRecord[]): void {
  const unfinished = jobs.filter((j) => !isTerminal(j.state));
  ctx.blockers.delete(runId);
  const last = unfinished.at(-1);
  if (!last) return;
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const needs = new Map<string, string>();
  const dependents = new Map<string, string[]>();
  for (const job of jobs) {
    if (job.state !== JobState.waiting) continue;
    // The last unfinished need: needs tend to finish in the order they are listed.
    const blocking = job.spec.needs.findLast((n) => {
      const need = byName.get(n);
      return need && !isTerminal(need.state);
    });
    if (blocking !== undefined) needs.set(job.name, (byName.get(blocking) as JobRecord)._id);
    for (const n of job.spec.needs) dependents.set(n, [...(dependents.get(n) ?? []), job.name]);
  }
  remember(ctx.blockers, runId, 256, { run: last._id, needs, dependents, seenAt: ctx.clock.now() });
}

/** How many waiting jobs one resolution decides at once (a fan-out can free hundreds). */
const RESOLVE_PARALLELISM = 8;

/**
 * Moves waiting jobs whose needs are all finished to queued (all succeeded) or skipped (any did
 * not), cascading, and ends the run once every job is finished. Safe to call any number of
 * times from any coordinator: each move is a decision.
 *
 * Completions of one run arrive in bursts, and each asks for a resolution that reads the whole
 * run. A coordinator runs one resolution of a run at a time: a call made while one is under way
 * waits for it and for one more pass after it, which sees everything the call was made for.
 */
export function resolveRun(ctx: SchedulerContext, runId: string): Promise<void> {
  const pending = ctx.resolving.get(runId);
  if (pending) {
    pending.again = true;
    return pending.done;
  }
  const entry = { again: false, done: Promise.resolve() };
  ctx.resolving.set(runId, entry);
  entry.done = (async () => {
    try {
      do {
        entry.again = false;
        await resolveRunOnce(ctx, runId);
      } while (entry.again);
    } finally {
      ctx.resolving.delete(runId);
    }
  })();
  return entry.done;
}

async function resolveRunOnce(ctx: SchedulerContext, runId: string): Promise<void> {
  const { store } = ctx;
  const run = await store.getRun(runId);
  if (run?.status !== 'running') {
    ctx.blockers.delete(runId);
    return;
  }
  let jobs = await store.listJobs(runId);
  const cancelled = await store.getDecision(DecisionIds.runCancel(runId));
  /** Applies one job's resolution; true when this call moved a job to a finished state. */
  const resolve = async (job: JobRecord, needs: (JobRecord | undefined)[]): Promise<boolean> => {
    const ok = needs.every((n) => n?.state === JobState.succeeded);
    const proposal = cancelled ? 'cancelled' : ok ? 'queued' : 'skipped';
    const { decision } = await store.decide(DecisionIds.jobResolve(job._id), { outcome: proposal });
    const outcome = decision.data.outcome;
    const now = ctx.clock.now();
    const patch =
      outcome === 'queued'
        ? { state: JobState.queued, readyAt: now }
        : outcome === 'cancelled'
          ? { state: JobState.cancelled, finishedAt: now, cause: AttemptCause.cancelled }
          : { state: JobState.skipped, finishedAt: now, cause: AttemptCause.needsFailed };
    const updated = await store.updateJob(job._id, patch, { states: [JobState.waiting] });
    if (outcome === 'queued') store.notify(Topics.queue);
    // A queued job is not finished, so it cannot free another: only skips and cancels cascade.
    return updated && outcome !== 'queued';
  };
  for (let changed = true; changed; ) {
    const byName = new Map(jobs.map((j) => [j.name, j]));
    const ready: [JobRecord, (JobRecord | undefined)[]][] = [];
    for (const job of jobs) {
      if (job.state !== JobState.waiting) continue;
      const needs = job.spec.needs.map((n) => byName.get(n));
      if (needs.some((n) => n && !isTerminal(n.state))) continue;
      ready.push([job, needs]);
    }
    changed = false;
    for (let i = 0; i < ready.length; i += RESOLVE_PARALLELISM) {
      const applied = await Promise.all(
        ready.slice(i, i + RESOLVE_PARALLELISM).map(([job, needs]) => resolve(job, needs)),
      );
      // Only a finishing move this call applied can free more jobs here: a move another
      // coordinator applied is cascaded by that coordinator.
      if (applied.some(Boolean)) changed = true;
    }
    if (changed) jobs = await store.listJobs(runId);
  }
  rememberBlockers(ctx, runId, jobs);
  if (!jobs.every((j) => isTerminal(j.state))) return;
  const failed = jobs.some((j) => j.state === JobState.failed || j.state === JobState.timedOut);
  const status: RunStatus = cancelled
    ? 'cancelled'
    : failed
      ? 'failed'
      : jobs.some((j) => j.state === JobState.cancelled)
        ? 'cancelled'
        : 'succeeded';
  const { won, decision } = await store.decide(DecisionIds.runEnd(runId), { status });
  await store.updateRun(runId, { status: decision.data.status, finishedAt: decision.at });
  notifyRun(store, runId);
  if (won) {
    const run = await store.getRun(runId);
    if (run) {
      await ctx.events.record(
        { type: 'run', runId, pipeline: run.pipeline, number: run.number, status: decision.data.status },
        decision.at,
      );
    }
  }
}
