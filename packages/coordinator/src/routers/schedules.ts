import { z } from 'zod';
import { router, userProcedure } from '../trpc.js';

/** Reading schedules: the cron triggers of deployed pipelines, as the ticker fires them. */
export const schedulesRouter = router({
  /**
   * Every schedule (or one pipeline's), with its next fire time and the run its last tick
   * started. Disabled schedules are those the pipeline's head no longer declares.
   */
  list: userProcedure('viewer')
    .input(
      z
        .object({ pipeline: z.string().min(1).max(100).optional(), includeDisabled: z.boolean().default(false) })
        .default({ includeDisabled: false }),
    )
    .query(async ({ ctx, input }) => {
      const schedules = (await ctx.store.listSchedules(input.pipeline)).filter(
        (s) => s.enabled || input.includeDisabled,
      );
      return Promise.all(
        schedules.map(async (s) => {
          const run = s.lastRunId ? await ctx.store.getRun(s.lastRunId) : null;
          return {
            scheduleId: s._id,
            pipeline: s.pipeline,
            cron: s.cron,
            enabled: s.enabled,
            nextFireAt: s.enabled ? s.nextFireAt : null,
            lastFiredAt: s.lastFiredAt,
            lastRun: run ? { runId: run._id, number: run.number, status: run.status, createdAt: run.createdAt } : null,
          };
        }),
      );
    }),
});
