import { BadInputError, ConfigError, NotFoundError } from '@hiveforge/sdk';
import { z } from 'zod';
import { secretIdOf } from '../store/types.js';
import { router, userProcedure } from '../trpc.js';

/** The largest secret value, in bytes of UTF-8. */
export const SECRET_VALUE_MAX_BYTES = 64 * 1024;

/** What a secret's name must match: an environment variable's name. */
export const SECRET_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

const Name = z
  .string()
  .min(1)
  .max(200)
  .regex(SECRET_NAME_PATTERN, 'a secret name is A-Z, 0-9 and _, not starting with a digit');
const Pipeline = z.string().min(1).max(200);

/**
 * Secrets given to the jobs that declare them. Admins and maintainers set and remove them;
 * lists show names, scopes and when each was set, never a value. Values are encrypted with
 * the coordinator's secrets key before they reach the store.
 */
export const secretsRouter = router({
  /** Sets a secret, global or for one pipeline (replacing the one of that name and scope). */
  set: userProcedure('maintainer')
    .input(z.object({ name: Name, value: z.string(), pipeline: Pipeline.optional() }))
    .mutation(async ({ ctx, input }) => {
      if (!ctx.secrets) {
        throw new ConfigError(
          'this coordinator has no secrets key (--secrets-key, HIVEFORGE_SECRETS_KEY or --secrets-key-file): it cannot store secrets',
        );
      }
      const bytes = Buffer.byteLength(input.value, 'utf8');
      if (bytes > SECRET_VALUE_MAX_BYTES) {
        throw new BadInputError(`the value of ${input.name} is ${bytes} bytes; a secret is at most 64 KiB`);
      }
      const pipeline = input.pipeline ?? null;
      const updatedAt = ctx.clock.now();
      await ctx.store.putSecret({
        _id: secretIdOf(input.name, pipeline),
        name: input.name,
        pipeline,
        ...ctx.secrets.encrypt({ name: input.name, pipeline }, input.value),
        updatedAt,
      });
      return { name: input.name, pipeline, updatedAt };
    }),

  /** Every secret: name, scope (null: global) and when it was set. Never a value. */
  list: userProcedure('maintainer').query(async ({ ctx }) =>
    (await ctx.store.listSecrets()).map(({ name, pipeline, updatedAt }) => ({ name, pipeline, updatedAt })),
  ),

  /** Removes a secret of this name and scope. */
  remove: userProcedure('maintainer')
    .input(z.object({ name: Name, pipeline: Pipeline.optional() }))
    .mutation(async ({ ctx, input }) => {
      const pipeline = input.pipeline ?? null;
      if (!(await ctx.store.removeSecret(secretIdOf(input.name, pipeline)))) {
        throw new NotFoundError(
          `no secret ${input.name}${pipeline === null ? ' (global)' : ` for pipeline ${pipeline}`}`,
        );
      }
      return { name: input.name, pipeline };
    }),
});
