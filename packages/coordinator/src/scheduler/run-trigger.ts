import { BadInputError, NotFoundError, type PipelineSpec, conditionHolds } from '@hiveforge/sdk';
import { recordEvent } from '../event-log.js';
import { AttemptCause, type JobRecord, JobState, type RunRecord, type RunTrigger } from '../store/types.js';
import { type SchedulerContext, Topics, rememberRun, specOf } from './context.js';
import { resolveRun } from './dag.js';
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
 * coordinators triggering at once get two different numbers, never one run twice.
 */
export async function triggerRun(ctx: SchedulerContext, input: TriggerRunInput): Promise<RunRecord> {
  const { store } = ctx;
  const head = await store.getPipeline(input.pipeline);
  if (!head) throw new NotFoundError(`no pipeline named '${input.pipeline}' is deployed`);
  const versionId = input.versionId ?? head.versionId;
  // Through the cache: versions never change, and a large pipeline's version is costly to read
  // (a deploy stores it with the pipeline's name as the spec's).
  const spec = await specOf(ctx, versionId);
  if (!spec || spec.name !== input.pipeline) {
    throw new NotFoundError(`pipeline '${input.pipeline}' has no version '${versionId}'`);
  }
  const inputs = resolveRunInputs(spec, input.trigger.inputs);
  const selected = input.only?.length ? selectJobs(spec, input.only) : null;

  let number = (await store.lastRunNumber(input.pipeline)) + 1;
  for (;;) {
    const runId = runIdOf(input.pipeline, number);
    const { won } = await store.decide(DecisionIds.runNumber(input.pipeline, number), { runId });
    if (won) break;
    number++;
  }
  const now = ctx.now();
  const run: RunRecord = {
    _id: runIdOf(input.pipeline, number),
    pipeline: input.pipeline,
    number,
    versionId,
    trigger: { ...input.trigger, inputs },
    status: 'running',
    createdAt: now,
    finishedAt: null,
  };
  const jobs: JobRecord[] = spec.jobs
    .filter((j) => !selected || selected.has(j.name))
    .map((j) => {
      const runs = conditionHolds(j.if, input.trigger);
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
  // Jobs first: a run document is only ever visible with all its jobs.
  await store.insertJobs(jobs);
  await store.insertRun(run);
  rememberRun(ctx, run, spec);
  store.notify(Topics.queue);
  await recordEvent(
    store,
    { type: 'run', runId: run._id, pipeline: run.pipeline, number: run.number, status: run.status },
    now,
  );
  // Waiting and skipped jobs (and a run of none) need resolving; a run whose jobs are all
  // queued has nothing to resolve until one of them ends.
  if (jobs.length === 0 || jobs.some((job) => job.state !== JobState.queued)) await resolveRun(ctx, run._id);
  return (await store.getRun(run._id)) ?? run;
}
