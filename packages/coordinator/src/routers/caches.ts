import { NotFoundError } from '@hiveforge/sdk';
import { z } from 'zod';
import { router, userProcedure } from '../trpc.js';

const Pipeline = z.string().min(1).max(200);

/**
 * The cache entries jobs saved (see docs/concepts.md, "Caches"): any user token lists them;
 * maintainers remove one (its next restore misses and the next successful job saves it again).
 */
export const cachesRouter = router({
  /** A pipeline's entries (all pipelines' without one), by pipeline then key; never their bytes. */
  list: userProcedure('viewer')
    .input(z.object({ pipeline: Pipeline.optional() }).default({}))
    .query(async ({ ctx, input }) =>
      (await ctx.store.listCacheEntries(input.pipeline)).map(
        ({ _id, pipeline, scope, key, size, sha256, createdAt, lastUsedAt }) => ({
          id: _id,
          pipeline,
          branch: scope,
          key,
          size,
          sha256,
          createdAt,
          lastUsedAt,
        }),
      ),
    ),

  /** Removes one entry and its archive. */
  remove: userProcedure('maintainer')
    .input(z.object({ id: z.string().regex(/^[0-9a-f]{40}$/, 'a cache entry id is 40 hex digits') }))
    .mutation(async ({ ctx, input }) => {
      const removed = await ctx.store.removeCacheEntry(input.id);
      if (!removed) throw new NotFoundError(`no cache entry ${input.id}`);
      // Its archive goes with the blob sweep, unless another entry (or an artifact) has the same content.
      return { id: input.id };
    }),
});
