import { NotFoundError, TriggerEvent } from '@hiveforge/sdk';
import { tracked } from '@trpc/server';
import { z } from 'zod';
import { LOG_PAGE, LogCursor, readLogPage } from '../log-page.js';
import { type RunEventBatch, readRunEvents } from '../run-watcher.js';
import { type RunView, runViewKey, runViewOf, sawRun } from '../run-view.js';
import { DecisionIds, RunInputsSchema, jobIdOf } from '../scheduler/index.js';
import { type StaleMarker, readThrough, staleOrThrow, waitForStore } from '../stale-reads.js';
import { whileStoreAnswers } from '../store-health.js';
import { JobState } from '../store/types.js';
import { type CoordinatorContext, cachedReadProcedure, router, userProcedure } from '../trpc.js';

const RunId = z.string().min(1).max(300);

/** What a watch of a run tells the read cache (see `sawRun`). */
const sawOf = (ctx: CoordinatorContext) => (ctx.readCache ? sawRun.bind(null, ctx.readCache) : undefined);

/** A batch of a watch: while the store is out, an empty one marked `stale` (see `runs.watch`). */
type WatchBatch = RunEventBatch & { stale?: StaleMarker };

/** Triggering, reading, watching and cancelling runs. */
export const runsRouter = router({
  trigger: userProcedure('maintainer')
    .input(
      z.object({
        pipeline: z.string().min(1).max(100),
        event: z.enum(Object.values(TriggerEvent) as [TriggerEvent, ...TriggerEvent[]]).default('manual'),
        branch: z.string().max(255).nullable().default(null),
        commit: z.string().max(100).nullable().default(null),
        repository: z.string().max(2_000).nullable().default(null),
        inputs: RunInputsSchema.default({}),
        only: z.array(z.string().min(1).max(300)).max(1000).optional(),
        /** The run is for a pull request from a fork: its jobs get no secret. @default false */
        fork: z.boolean().default(false),
        /**
         * Makes the trigger safe to send again: a trigger with a request id used before for the
         * pipeline returns the run the first one created (finishing it if its coordinator died
         * while creating it), and fails with a conflict if it asks for something else.
         */
        requestId: z
          .string()
          .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a request id is 1 to 128 of A-Z a-z 0-9 . _ : -')
          .optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const actor = ctx.user.name;
      return ctx.scheduler.triggerRun({
        pipeline: input.pipeline,
        trigger: {
          event: input.event,
          branch: input.branch,
          commit: input.commit,
          repository: input.repository,
          inputs: input.inputs,
          actor,
          ...(input.fork ? { fork: true } : {}),
        },
        only: input.only,
        key: input.requestId === undefined ? undefined : DecisionIds.triggerRequest(input.pipeline, input.requestId),
      });
    }),

  /**
   * A run and its jobs. A queued job no live agent can take (none has its labels) says why in
   * `waiting` (null otherwise).
   */
  get: cachedReadProcedure('viewer')
    .input(z.object({ runId: RunId }))
    .query(({ ctx, input }) =>
      readThrough(ctx, runViewKey(input.runId), async (): Promise<RunView> => {
        const run = await ctx.store.getRun(input.runId);
        if (!run) throw new NotFoundError(`no run '${input.runId}'`);
        const jobs = await ctx.store.listJobs(input.runId);
        // Why a queued job waits, when no live agent has its labels: the agents are read only then.
        const agents = jobs.some((j) => j.state === JobState.queued) ? await ctx.store.listAgents() : [];
        return runViewOf(run, jobs, agents);
      }),
    ),

  /** Every attempt of one job of a run: agent, lease and end times, status, cause, exit code. */
  attempts: cachedReadProcedure('viewer')
    .input(z.object({ runId: RunId, job: z.string().min(1).max(300) }))
    .query(({ ctx, input }) =>
      readThrough(ctx, `attempts:${jobIdOf(input.runId, input.job)}`, async () => {
        if (!(await ctx.store.getRun(input.runId))) throw new NotFoundError(`no run '${input.runId}'`);
        return ctx.scheduler.attempts(jobIdOf(input.runId, input.job));
      }),
    ),

  /**
   * A run's artifacts, oldest first: name, size, SHA-256, the job (by name) and attempt that
   * uploaded it, and when. An unknown run is HF_NOT_FOUND.
   */
  artifacts: userProcedure('viewer')
    .input(z.object({ runId: RunId }))
    .query(async ({ ctx, input }) => {
      if (!(await ctx.store.getRun(input.runId))) throw new NotFoundError(`no run '${input.runId}'`);
      const [artifacts, jobs] = await Promise.all([
        ctx.store.listArtifacts(input.runId),
        ctx.store.listJobs(input.runId),
      ]);
      const names = new Map(jobs.map((j) => [j._id, j.name]));
      return artifacts
        .map((a) => ({
          name: a.name,
          size: a.size,
          sha256: a.sha256,
          job: a.jobId === null ? null : (names.get(a.jobId) ?? a.jobId),
          attempt: a.attempt,
          createdAt: a.createdAt,
        }))
        .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
    }),

  list: cachedReadProcedure('viewer')
    .input(
      z.object({
        pipeline: z.string().optional(),
        status: z.enum(['running', 'succeeded', 'failed', 'cancelled']).optional(),
        before: z.number().optional(),
        limit: z.number().int().min(1).max(200).default(50),
      }),
    )
    .query(({ ctx, input }) => readThrough(ctx, `runs:${JSON.stringify(input)}`, () => ctx.store.listRuns(input))),

  /**
   * Runs the same version again with the same trigger, as a new run: every job, or with `job`
   * that job and the jobs it needs (as `only` does). A job the run does not have is HF_BAD_INPUT.
   */
  retry: userProcedure('maintainer')
    .input(z.object({ runId: RunId, job: z.string().min(1).max(300).optional() }))
    .mutation(async ({ ctx, input }) => {
      const run = await ctx.store.getRun(input.runId);
      if (!run) throw new NotFoundError(`no run '${input.runId}'`);
      return ctx.scheduler.triggerRun({
        pipeline: run.pipeline,
        versionId: run.versionId,
        trigger: { ...run.trigger, actor: ctx.user.name },
        ...(input.job === undefined ? {} : { only: [input.job] }),
      });
    }),

  cancel: userProcedure('maintainer')
    .input(z.object({ runId: RunId }))
    .mutation(async ({ ctx, input }) => {
      await ctx.scheduler.cancelRun(input.runId, ctx.user.name);
      return { ok: true as const };
    }),

  /**
   * Long-polls for what happened since `cursor`; answers at once when something did. While the
   * store is out, a run this coordinator saw is answered, when the wait is over, with no events,
   * the same cursor and `stale` (the watch goes on once the store is back); another is the 503.
   */
  watch: cachedReadProcedure('viewer')
    .input(
      z.object({
        runId: RunId,
        cursor: z.string().max(1_000_000).optional(),
        waitMs: z.number().int().min(0).max(30_000).default(10_000),
      }),
    )
    .query(async ({ ctx, input }): Promise<WatchBatch> => {
      const deadline = ctx.clock.now() + input.waitMs;
      const saw = sawOf(ctx);
      for (;;) {
        let batch: RunEventBatch | null;
        try {
          batch = await whileStoreAnswers(ctx.storeHealth, () =>
            readRunEvents(ctx.store, input.runId, input.cursor, saw),
          );
        } catch (error) {
          const { stale } = staleOrThrow<RunView>(ctx, runViewKey(input.runId), error);
          const left = deadline - ctx.clock.now();
          if (left > 0 && !ctx.signal.aborted) {
            await waitForStore(ctx, left, ctx.signal);
            if (!ctx.storeHealth?.out && !ctx.signal.aborted) continue;
          }
          // No events: what the run did meanwhile is read from the store once it is back.
          return { events: [], cursor: input.cursor ?? '', done: false, more: false, stale };
        }
        if (!batch) {
          ctx.readCache?.delete(runViewKey(input.runId));
          throw new NotFoundError(`no run '${input.runId}'`);
        }
        const left = deadline - ctx.clock.now();
        if (batch.events.length > 0 || batch.done || left <= 0 || ctx.signal.aborted) return batch;
        await ctx.scheduler.waitForRun(input.runId, Math.min(left, 500), ctx.signal);
      }
    }),

  /**
   * Follows a run as Server-Sent Events: each message is a batch of events, tracked by cursor,
   * so a reconnecting client resumes where it was (on any coordinator). Ends with the run. While
   * the store is out, the stream of a run this coordinator saw stays open and quiet until the
   * store is back; another run's is the 503.
   */
  tail: cachedReadProcedure('viewer')
    .input(z.object({ runId: RunId, lastEventId: z.string().max(1_000_000).nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      let cursor = input.lastEventId ?? undefined;
      const saw = sawOf(ctx);
      for (;;) {
        let batch: RunEventBatch | null;
        try {
          batch = await whileStoreAnswers(ctx.storeHealth, () => readRunEvents(ctx.store, input.runId, cursor, saw));
        } catch (error) {
          staleOrThrow<RunView>(ctx, runViewKey(input.runId), error);
          await waitForStore(ctx, 1_000, signal);
          if (signal?.aborted) return;
          continue;
        }
        if (!batch) throw new NotFoundError(`no run '${input.runId}'`);
        cursor = batch.cursor;
        if (batch.events.length) yield tracked(cursor, batch.events);
        if (batch.done || signal?.aborted) return;
        if (batch.more) continue;
        await ctx.scheduler.waitForRun(input.runId, 500, signal);
      }
    }),

  /**
   * One page of a job's log: chunks after `cursor`, up to `maxBytes` of text (a page holds at
   * least one chunk). Pass `next` as the following page's `cursor`; `complete` says the job had
   * ended and this page reached the end of its log (or of `attempt`'s), so no page after it has
   * more. Only one page is read from the store, however large the log.
   */
  logs: userProcedure('viewer')
    .input(
      z.object({
        runId: RunId,
        job: z.string().min(1).max(300),
        attempt: z.number().int().positive().max(1_000_000).optional(),
        cursor: LogCursor.optional(),
        maxBytes: z.number().int().min(LOG_PAGE.minBytes).max(LOG_PAGE.maxBytes).default(LOG_PAGE.defaultBytes),
      }),
    )
    .query(async ({ ctx, input }) => {
      const job = await ctx.store.getJob(jobIdOf(input.runId, input.job));
      if (!job) throw new NotFoundError(`run '${input.runId}' has no job '${input.job}'`);
      return readLogPage(ctx.store, job, input);
    }),
});
