import { defineAction } from '@hiveforge/sdk';

/** Where a build tool runs and with which extra arguments. */
export interface BuildToolOptions {
  cwd?: string;
  args?: readonly string[];
}

/** `mvn -B <goals>`: Maven in batch mode. @example await maven(ctx, { goals: ['verify'] }); */
export const maven = defineAction<BuildToolOptions & { goals: readonly string[] }, void>({
  name: 'maven',
  async run(ctx, o) {
    await ctx.sh.with({ cwd: o.cwd })`mvn -B ${o.goals} ${o.args ?? []}`;
  },
});

/** `cargo <command>`. @example await cargo(ctx, { command: 'test' }); */
export const cargo = defineAction<BuildToolOptions & { command: string }, void>({
  name: 'cargo',
  async run(ctx, o) {
    await ctx.sh.with({ cwd: o.cwd })`cargo ${o.command} ${o.args ?? []}`;
  },
});

/** `sbt -batch <commands>`. @example await sbt(ctx, { commands: ['test'] }); */
export const sbt = defineAction<BuildToolOptions & { commands: readonly string[] }, void>({
  name: 'sbt',
  async run(ctx, o) {
    await ctx.sh.with({ cwd: o.cwd })`sbt -batch ${o.commands} ${o.args ?? []}`;
  },
});
