import { type Duration, NotFoundError, parseDuration } from '@hiveforge/sdk';
import { z } from 'zod';
import { forgetRevokedToken } from '../outage-callers.js';
import { issueUserToken } from '../tokens.js';
import { router, userProcedure } from '../trpc.js';

/** The longest lifetime a token can be given. */
const MAX_LIFETIME_MS = 10 * 365 * 86_400_000;

/** A token's lifetime as sent (`'30d'`, `'12h'`), checked to be a duration from 1s to 10 years. */
const Lifetime = z
  .string()
  .min(1)
  .max(50)
  .superRefine((text, ctx) => {
    let ms: number;
    try {
      ms = parseDuration(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration (use 12h, 30d, 90d)` });
      return;
    }
    if (ms < 1_000 || ms > MAX_LIFETIME_MS)
      ctx.addIssue({ code: 'custom', message: `a token lives from 1s to 3650d, not ${text}` });
  });

/**
 * API tokens for people and tools. Only admins create, list and revoke them; the clear token is
 * shown once, at creation, and lists never show it or its hash.
 */
export const tokensRouter = router({
  create: userProcedure('admin')
    .input(
      z.object({
        name: z.string().min(1).max(100),
        role: z.enum(['admin', 'maintainer', 'viewer']),
        /** How long the token is accepted (`'30d'`); left out, it never expires. */
        expires: Lifetime.optional(),
      }),
    )
    .mutation(async ({ ctx, input }) =>
      issueUserToken(ctx.store, {
        ...input,
        expires: input.expires as Duration | undefined,
        now: () => ctx.clock.now(),
      }),
    ),

  /** Every token: id, name, role, when created, when it expires, when last used, when revoked. */
  list: userProcedure('admin').query(async ({ ctx }) => ctx.store.listTokens()),

  /** Revokes a token by its id: every coordinator refuses it from the next request on. */
  revoke: userProcedure('admin')
    .input(z.object({ id: z.string().min(1).max(100) }))
    .mutation(async ({ ctx, input }) => {
      const token = await ctx.store.revokeToken(input.id, ctx.clock.now());
      if (ctx.readCache) forgetRevokedToken(ctx.readCache, input.id);
      if (!token) throw new NotFoundError(`no token with id '${input.id}'`);
      return token;
    }),
});
