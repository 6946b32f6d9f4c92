import type { JobContext } from './context.js';

/** What an action is called with: its metadata and body. */
export interface ActionDefinition<I, R> {
  /** A stable name, shown as a log group (`checkout`, `npm.ci`). */
  name: string;
  description?: string;
  run: (ctx: JobContext<unknown>, input: I) => Promise<R>;
}

/** A reusable step: a typed async function over the job context. */
export interface Action<I, R> {
  (ctx: JobContext<unknown>, ...input: undefined extends I ? [input?: I] : [input: I]): Promise<R>;
  readonly actionName: string;
  readonly description: string | undefined;
}

/**
 * Defines a reusable action. Its output is grouped under the action's name in the log.
 * @example
 * export const greet = defineAction({
 *   name: 'greet',
 *   run: async (ctx, input: { who: string }) => { await ctx.sh`echo hello ${input.who}`; },
 * });
 */
export function defineAction<I = undefined, R = void>(definition: ActionDefinition<I, R>): Action<I, R> {
  const action = async (ctx: JobContext<unknown>, input?: I): Promise<R> => {
    const close = ctx.log.group(definition.name);
    try {
      return await definition.run(ctx, input as I);
    } finally {
      close();
    }
  };
  return Object.assign(action, { actionName: definition.name, description: definition.description }) as Action<I, R>;
}
