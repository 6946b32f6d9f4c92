import { type JobContext, defineAction } from '@hiveforge/sdk';

/** What every build-tool action takes: where the tool runs, its environment and extra arguments. */
export interface BuildToolOptions {
  /** Directory in the workspace where the tool runs. @default '.' */
  cwd?: string;
  /** Extra environment variables for the tool (e.g. `{ MAVEN_OPTS: '-Xmx2g' }`). @default {} */
  env?: Readonly<Record<string, string>>;
  /** Extra arguments, appended to the command line, each quoted as one word. @default [] */
  args?: readonly string[];
}

/** Options of {@link maven}: `mvn -B <goals> <args>`. */
export interface MavenOptions extends BuildToolOptions {
  /** Goals and phases, in order (`['clean', 'verify']`). */
  goals: readonly string[];
}

/** Options of {@link cargo}: `cargo <command> <args>`. */
export interface CargoOptions extends BuildToolOptions {
  /** The cargo subcommand (`build`, `test`, `clippy`...). */
  command: string;
}

/** Options of {@link sbt}: `sbt -batch <commands> <args>`. */
export interface SbtOptions extends BuildToolOptions {
  /** sbt commands, in order (`['compile', 'test']`). */
  commands: readonly string[];
}

const shellOf = (ctx: JobContext<unknown>, o: BuildToolOptions) => ctx.sh.with({ cwd: o.cwd, env: o.env });

/**
 * `mvn -B <goals> <args>`: Maven in batch mode.
 * @example await maven(ctx, { goals: ['verify'], args: ['-DskipITs'], env: { MAVEN_OPTS: '-Xmx2g' } });
 */
export const maven = defineAction<MavenOptions, void>({
  name: 'maven',
  async run(ctx, o) {
    await shellOf(ctx, o)`mvn ${['-B', ...o.goals, ...(o.args ?? [])]}`;
  },
});

/**
 * `cargo <command> <args>`.
 * @example await cargo(ctx, { command: 'test', args: ['--locked', '--all-features'] });
 */
export const cargo = defineAction<CargoOptions, void>({
  name: 'cargo',
  async run(ctx, o) {
    await shellOf(ctx, o)`cargo ${[o.command, ...(o.args ?? [])]}`;
  },
});

/**
 * `sbt -batch <commands> <args>`.
 * @example await sbt(ctx, { commands: ['test'], args: ['-Dsbt.log.noformat=true'] });
 */
export const sbt = defineAction<SbtOptions, void>({
  name: 'sbt',
  async run(ctx, o) {
    await shellOf(ctx, o)`sbt ${['-batch', ...o.commands, ...(o.args ?? [])]}`;
  },
});
