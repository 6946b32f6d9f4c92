import { createHash } from 'node:crypto';
import { BadInputError, NotFoundError } from '@hiveforge/sdk';
import { z } from 'zod';
import { AnalysisFailedError } from '../analyzer/index.js';
import { labelWarnings } from '../scheduler/index.js';
import { readThrough } from '../stale-reads.js';
import type { PipelineRecord } from '../store/types.js';
import { cachedReadProcedure, router, userProcedure } from '../trpc.js';

/** The read cache's key of the list of pipelines. */
const PIPELINES_KEY = 'pipelines';

/** The most source a deploy may carry, in bytes, and the largest bundle. */
export const DEPLOY_LIMITS = { sourceBytes: 5_000_000, bundleBytes: 20_000_000, files: 500 } as const;

const SafeRelativePath = z
  .string()
  .min(1)
  .max(500)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), {
    message: 'paths must be relative and must not contain ..',
  });

/** Deploying and reading pipelines. Deploy analyzes statically; it never runs the code. */
export const pipelinesRouter = router({
  deploy: userProcedure('maintainer')
    .input(
      z.object({
        entry: SafeRelativePath,
        files: z
          .record(SafeRelativePath, z.string())
          .refine((f) => Object.keys(f).length <= DEPLOY_LIMITS.files, {
            message: `at most ${DEPLOY_LIMITS.files} source files`,
          })
          .refine((f) => Object.values(f).reduce((n, s) => n + s.length, 0) <= DEPLOY_LIMITS.sourceBytes, {
            message: `sources may total at most ${DEPLOY_LIMITS.sourceBytes} bytes`,
          }),
        bundle: z.string().min(1).max(DEPLOY_LIMITS.bundleBytes),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      if (!(input.entry in input.files))
        throw new NotFoundError(`the entry '${input.entry}' is not among the deployed files`);
      const result = ctx.analyzer.analyze({ entry: input.entry, files: input.files, root: '/' });
      if (!result.ok) throw new AnalysisFailedError(result.diagnostics);
      const spec = result.spec;
      const versionId = createHash('sha256')
        .update(JSON.stringify(spec))
        .update('\0')
        .update(input.bundle)
        .digest('hex')
        .slice(0, 24);
      const now = ctx.clock.now();
      await ctx.store.putPipelineVersion({
        _id: versionId,
        pipeline: spec.name,
        spec,
        bundle: input.bundle,
        entry: input.entry,
        createdAt: now,
      });
      await ctx.store.setPipelineHead(spec.name, versionId, now);
      await ctx.scheduler.syncSchedules(spec.name, versionId, { headAt: now, spec });
      await ctx.scheduler.events.record({ type: 'pipeline', pipeline: spec.name, versionId }, now);
      // The list this coordinator last saw gets the head it just set (never read for it).
      const listed = ctx.readCache?.get<PipelineRecord[]>(PIPELINES_KEY)?.value;
      if (listed) {
        const head: PipelineRecord = { _id: spec.name, versionId, updatedAt: now };
        ctx.readCache?.put(PIPELINES_KEY, [...listed.filter((p) => p._id !== spec.name), head]);
      }
      // Jobs no registered agent could take (not an error: such an agent may register later).
      const agentWarnings = labelWarnings(spec.jobs, await ctx.store.listAgents());
      return { pipeline: spec.name, versionId, spec, warnings: result.diagnostics, agentWarnings };
    }),

  list: cachedReadProcedure('viewer').query(({ ctx }) =>
    readThrough(ctx, PIPELINES_KEY, () => ctx.store.listPipelines()),
  ),

  /**
   * A pipeline's head, or with `versionId` one of its versions: `spec` is that version's, `head`
   * the head's version id.
   */
  get: cachedReadProcedure('viewer')
    .input(z.object({ name: z.string().min(1), versionId: z.string().min(1).max(100).optional() }))
    .query(({ ctx, input }) =>
      readThrough(ctx, `pipeline:${input.name}:${input.versionId ?? ''}`, async () => {
        const head = await ctx.store.getPipeline(input.name);
        if (!head) throw new NotFoundError(`no pipeline named '${input.name}'`);
        const versionId = input.versionId ?? head.versionId;
        const version = await ctx.store.getPipelineVersion(versionId);
        if (input.versionId !== undefined && version?.pipeline !== input.name)
          throw new NotFoundError(`pipeline '${input.name}' has no version '${input.versionId}'`);
        return {
          name: head._id,
          versionId,
          head: head.versionId,
          updatedAt: head.updatedAt,
          createdAt: version?.createdAt ?? null,
          entry: version?.entry ?? null,
          spec: version?.spec ?? null,
        };
      }),
    ),

  /**
   * The versions of a pipeline, newest first, without their bundles or specs. Page with
   * `before: <the previous page's nextBefore>`.
   */
  versions: userProcedure('viewer')
    .input(
      z.object({
        name: z.string().min(1),
        before: z.string().min(1).max(100).optional(),
        limit: z.number().int().min(1).max(100).default(20),
      }),
    )
    .query(async ({ ctx, input }) => {
      const head = await ctx.store.getPipeline(input.name);
      if (!head) throw new NotFoundError(`no pipeline named '${input.name}'`);
      if (input.before !== undefined) {
        const cursor = await ctx.store.getPipelineVersion(input.before);
        if (cursor?.pipeline !== input.name) {
          throw new BadInputError(`before: '${input.before}' is not a version of pipeline '${input.name}'`, [
            { path: 'before', message: 'not a version of this pipeline' },
          ]);
        }
      }
      // One more than asked for says whether there is a next page.
      const found = await ctx.store.listPipelineVersions(input.name, { before: input.before, limit: input.limit + 1 });
      const page = found.slice(0, input.limit);
      return {
        name: head._id,
        head: head.versionId,
        versions: page.map((v) => ({
          versionId: v._id,
          createdAt: v.createdAt,
          entry: v.entry,
          jobs: v.jobs,
          jobCount: v.jobs.length,
          isHead: v._id === head.versionId,
        })),
        nextBefore: found.length > input.limit ? (page.at(-1)?._id ?? null) : null,
      };
    }),
});
