import { z } from 'zod';
import { createUserToken } from '../tokens.js';
import { router, userProcedure } from '../trpc.js';

/** API tokens for people and tools. Only admins create them; the clear token is shown once. */
export const tokensRouter = router({
  create: userProcedure('admin')
    .input(z.object({ name: z.string().min(1).max(100), role: z.enum(['admin', 'maintainer', 'viewer']) }))
    .mutation(async ({ ctx, input }) => ({
      token: await createUserToken(ctx.store, input),
      name: input.name,
      role: input.role,
    })),
});
