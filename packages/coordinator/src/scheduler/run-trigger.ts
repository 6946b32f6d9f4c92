import { BadInputError, ConflictError, NotFoundError, type PipelineSpec, conditionHolds } from '@hiveforge/sdk';
import { AttemptCause, type JobRecord, JobState, type RunRecord, type RunTrigger } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { rememberRun, specOf } from './run-origins.js';
import { Topics } from './topics.js';
import { rememberBlockers, resolveRun } from './dag.js';
import { DecisionIds, jobIdOf, runIdOf } from './decision-ids.js';
import { resolveRunInputs } from './run-inputs.js';

/** What to run. */
export interface TriggerRunInput {
  pipeline: string;
  trigger: RunTrigger;
  /** Run only these jobs and what they need. @default every job */
  only?: readonly string[];
  /** A specific version instead of the pipeline's head. */
  versionId?: string;
  /**
   * Makes the trigger idempotent: the id of a decision that records the run the first trigger
   * with this key created (see `RunCreation`). A trigger with a key that was used already, by
   * any coordinator, gets that run, and finishes creating it if the coordinator that began died
   * first. Without one, every call creates a run.
   */
  key?: string;
}

/** A run, and whether the call that returned it stored it. */
export interface CreatedRun {
  run: RunRecord;
  created: boolean;
}

/**
 * Everything a run's records are made of, as decided under a trigger's key: whoever creates the
 * run from it (the coordinator that decided it, or one finishing its work) writes the same
 * records.
 */
export interface RunCreation {
  runId: string;
  number: number;
  pipeline: string;
  versionId: string;
  /** With the inputs resolved. */
  trigger: RunTrigger;
  only: string[] | null;
  createdAt: number;
}

/** The jobs named and, transitively, everything they need. */
export function selectJobs(spec: PipelineSpec, only: readonly string[]): Set<string> {
  const byName = new Map(spec.jobs.map((j) => [j.name, j]));
  const byDeclared = new Map<string, string[]>();
  for (const j of spec.jobs) byDeclared.set(j.job, [...(byDeclared.get(j.job) ?? []), j.name]);
  const selected = new Set<string>();
  const visit = (name: string) => {
    if (selected.has(name)) return;
    selected.add(name);
    for (const need of byName.get(name)?.needs ?? []) visit(need);
  };
  for (const name of only) {
    const matches = byName.has(name) ? [name] : (byDeclared.get(name) ?? []);
    if (matches.length === 0) {
      throw new BadInputError(
        `pipeline '${spec.name}' has no job '${name}'; jobs: ${[...byDeclared.keys()].join(', ')}`,
        [{ path: 'only', message: `unknown job ${name}` }],
      );
    }
    matches.forEach(visit);
  }
  return selected;
}

/**
 * Creates a run of a pipeline's head version. The run number is a decision, so two
 * coordinators triggering at once get two different numbers, never one run twice. With a `key`,
 * see `TriggerRunInput.key`.
 */
export async function triggerRun(ctx: SchedulerContext, input: TriggerRunInput): Promise<RunRecord> {
  return (await triggerRunOnce(ctx, input)).run;
}

/** `triggerRun`, saying whether this call stored the run (with a key, one call of all does). */
export async function triggerRunOnce(ctx: SchedulerContext, input: TriggerRunInput): Promise<CreatedRun> {
  const { store } = ctx;
  if (input.key) {
    const decided = await store.getDecision<RunCreation>(input.key);
    if (decided) return createRun(ctx, sameTrigger(decided.data, input, input.key), { resume: true });
  }
  const head = await store.getPipeline(input.pipeline);
  if (!head) throw new NotFoundError(`no pipeline named '${input.pipeline}' is deployed`);
  const versionId = input.versionId ?? head.versionId;
  const spec = await specFor(ctx, input.pipeline, versionId);
  // Bad inputs and unknown jobs are refused before anything is decided (`createRun` selects
  // the jobs again, from the decided creation).
  const inputs = resolveRunInputs(spec, input.trigger.inputs);
  if (input.only?.length) selectJobs(spec, input.only);
  checkTriggerSize({ ...input.trigger, inputs });

  let number = (await store.lastRunNumber(input.pipeline)) + 1;
  for (;;) {
    const runId = runIdOf(input.pipeline, number);
    const { won } = await store.decide(DecisionIds.runNumber(input.pipeline, number), { runId });
    if (won) break;
    number++;
  }
  const creation: RunCreation = {
    runId: runIdOf(input.pipeline, number),
    number,
    pipeline: input.pipeline,
    versionId,
    trigger: { ...input.trigger, inputs },
    only: input.only?.length ? [...input.only] : null,
    createdAt: ctx.clock.now(),
  };
  if (!input.key) return createRun(ctx, creation, { resume: false });
  // Two triggers with one key that both got here: the run of the one that decided first is
  // created (by both), and the other's run number stays unused.
  const { decision } = await store.decide(input.key, creation);
  return createRun(ctx, sameTrigger(decision.data, input, input.key), { resume: true });
}

/**
 * The most a run's trigger (branch, commit, repository, actor and inputs) may take as JSON: far
 * below a MongoDB document's 16 MiB, so that storing the run cannot fail for its size after its
 * jobs are stored.
 */
export const MAX_TRIGGER_BYTES = 512 * 1024;

/** Refuses a trigger too large to store, before anything is written. */
function checkTriggerSize(trigger: RunTrigger): void {
  const bytes = Buffer.byteLength(JSON.stringify(trigger));
  if (bytes > MAX_TRIGGER_BYTES) {
    throw new BadInputError(`the trigger takes ${bytes} bytes; at most ${MAX_TRIGGER_BYTES} are stored with a run`, [
      { path: 'trigger', message: 'too large' },
    ]);
  }
}

/** Whether a run is stored (false when the store cannot say). */
const stored = (ctx: SchedulerContext, runId: string) =>
  ctx.store.getRun(runId).then(
    (run) => run !== null,
    () => false,
  );

/**
 * Takes the jobs of a run that was not stored out of the queue, as `cancelRun` would: each
 * queued job's first lease and each waiting job's resolution is decided as cancelled (so no pull
 * can lease it, nothing can queue it), then the job is marked cancelled. Best effort: after a
 * failed trigger the store may fail again; pulls do not lease a job whose run they cannot read,
 * and the sweeps' repair retires what is left (`retireOrphanedJobs`).
 */
async function retireJobs(ctx: SchedulerContext, jobs: readonly JobRecord[]): Promise<void> {
  const { store } = ctx;
  const cancelled = { state: JobState.cancelled, finishedAt: ctx.clock.now(), cause: AttemptCause.cancelled };
  try {
    for (const job of jobs) {
      if (job.state === JobState.queued) {
        const { won } = await store.decide(DecisionIds.lease(job._id, job.attempt), {
          agentId: null,
          requestId: null,
          cancelled: true,
        });
        if (won) await store.updateJob(job._id, cancelled, { attempt: job.attempt, states: [JobState.queued] });
      } else if (job.state === JobState.waiting) {
        const { won } = await store.decide(DecisionIds.jobResolve(job._id), { outcome: 'cancelled' });
        if (won) await store.updateJob(job._id, cancelled, { states: [JobState.waiting] });
      }
    }
    store.notify(Topics.queue);
  } catch {
    // The store's first error is the one the trigger reports.
  }
}

/**
 * How long a queued job may wait for its run's record before a sweep takes it for the job of a
 * trigger that died between storing the jobs and the run (see {@link retireOrphanedJobs}).
 */
export const ORPHAN_GRACE_MS = 10 * 60_000;

/** How many of the oldest queued jobs one repair looks at. */
const ORPHAN_SCAN = 50;

/**
 * Takes out of the queue the jobs of runs that were never stored: a coordinator that died
 * between a trigger's two writes left them queued, and no pull can lease them. Only jobs ready
 * for longer than {@link ORPHAN_GRACE_MS} are looked at, among the oldest queued; their run is
 * read from the store. Returns how many it retired.
 */
export async function retireOrphanedJobs(ctx: SchedulerContext): Promise<number> {
  const cutoff = ctx.clock.now() - ORPHAN_GRACE_MS;
  const isOld = (j: JobRecord) => j.readyAt !== null && j.readyAt < cutoff;
  // The oldest queued job first: when it is not old, none is (the usual case, a queue that
  // moves), and the repair reads one job instead of the oldest `ORPHAN_SCAN`.
  const [oldest] = await ctx.store.findQueuedJobs(1);
  if (!oldest || !isOld(oldest)) return 0;
  const old = (await ctx.store.findQueuedJobs(ORPHAN_SCAN)).filter(isOld);
  const orphans: JobRecord[] = [];
  const stored = new Map<string, boolean>();
  for (const job of old) {
    if (!stored.has(job.runId)) stored.set(job.runId, (await ctx.store.getRun(job.runId)) !== null);
    if (!stored.get(job.runId)) orphans.push(job);
  }
  if (orphans.length > 0) await retireJobs(ctx, orphans);
  return orphans.length;
}

/**
 * `creation`, if the trigger that decided it asked for what `input` asks for: a key names one
 * trigger, not any run. Each input `input` gives must have the run's value (so an input the first
 * trigger left to its default may be given as that default).
 */
function sameTrigger(creation: RunCreation, input: TriggerRunInput, key: string): RunCreation {
  const { trigger } = input;
  const only = input.only?.length ? input.only : null;
  const alike =
    creation.pipeline === input.pipeline &&
    (input.versionId === undefined || input.versionId === creation.versionId) &&
    (['event', 'branch', 'commit', 'repository', 'actor'] as const).every((f) => creation.trigger[f] === trigger[f]) &&
    Object.entries(trigger.inputs).every(([name, value]) => creation.trigger.inputs[name] === value) &&
    JSON.stringify(creation.only) === JSON.stringify(only);
  if (!alike) {
    throw new ConflictError(`'${key}' was used by a trigger of run ${creation.runId} that asked for something else`);
  }
  return creation;
}

/**
 * A version's spec, through the cache: versions never change, and a large pipeline's version is
 * costly to read (a deploy stores it with the pipeline's name as the spec's).
 */
async function specFor(ctx: SchedulerContext, pipeline: string, versionId: string): Promise<PipelineSpec> {
  const spec = await specOf(ctx, versionId);
  if (!spec || spec.name !== pipeline) throw new NotFoundError(`pipeline '${pipeline}' has no version '${versionId}'`);
  return spec;
}

/**
 * Writes a run's jobs, then the run. With `resume`, another coordinator may have begun (and died
 * in) the same writes, or be making them now: jobs stored already are kept, and a run stored
 * already is the run.
 */
async function createRun(
  ctx: SchedulerContext,
  creation: RunCreation,
  { resume }: { resume: boolean },
): Promise<CreatedRun> {
  const { store } = ctx;
  if (resume) {
    const stored = await store.getRun(creation.runId);
    if (stored) return { run: stored, created: false };
  }
  const spec = await specFor(ctx, creation.pipeline, creation.versionId);
  const selected = creation.only ? selectJobs(spec, creation.only) : null;
  const now = creation.createdAt;
  const run: RunRecord = {
    _id: creation.runId,
    pipeline: creation.pipeline,
    number: creation.number,
    versionId: creation.versionId,
    trigger: creation.trigger,
    status: 'running',
    createdAt: now,
    finishedAt: null,
  };
  const jobs: JobRecord[] = spec.jobs
    .filter((j) => !selected || selected.has(j.name))
    .map((j) => {
      const runs = conditionHolds(j.if, run.trigger);
      const state = !runs ? JobState.skipped : j.needs.length === 0 ? JobState.queued : JobState.waiting;
      return {
        _id: jobIdOf(run._id, j.name),
        runId: run._id,
        name: j.name,
        spec: j,
        state,
        attempt: 1,
        readyAt: state === JobState.queued ? now : null,
        agentId: null,
        leaseExpiresAt: null,
        leasedAt: null,
        startedAt: null,
        finishedAt: runs ? null : now,
        exitCode: null,
        cause: runs ? null : AttemptCause.condition,
        error: null,
        outputs: {},
        lostAttempts: 0,
      };
    });
  // Jobs first: a run document is only ever visible with all its jobs. Everything that could
  // make the run's insert fail for what it holds was checked before the first write
  // (`checkTriggerSize`); what is left is the store failing between the two.
  await store.insertJobs(jobs, { keepExisting: resume });
  let created = true;
  try {
    await store.insertRun(run);
  } catch (error) {
    // Another coordinator creating the same run stored it first: it is the same run, and that
    // coordinator reports it.
    if (resume && error instanceof ConflictError) created = false;
    else if (!(await stored(ctx, run._id))) {
      // A trigger without a key is not sent again to finish the run: its jobs must not stay
      // queued for a run that does not exist. (With a key, sending it again finishes the run.)
      if (!resume) await retireJobs(ctx, jobs);
      throw error;
    }
  }
  rememberRun(ctx, run, spec);
  store.notify(Topics.queue);
  if (created) {
    await ctx.events.record(
      { type: 'run', runId: run._id, pipeline: run.pipeline, number: run.number, status: run.status },
      ctx.clock.now(),
    );
  }
  // Waiting and skipped jobs (and a run of none) need resolving; a run whose jobs are all
  // queued has nothing to resolve until one of them ends, and the jobs just stored are what a
  // resolution would read: its completions need not read them all first.
  if (jobs.length === 0 || jobs.some((job) => job.state !== JobState.queued)) await resolveRun(ctx, run._id);
  else if (created) rememberBlockers(ctx, run._id, jobs);
  return { run: (await store.getRun(run._id)) ?? run, created };
}
