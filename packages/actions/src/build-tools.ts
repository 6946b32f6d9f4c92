import { posix } from 'node:path';
import { type JobContext, defineAction } from '@hiveforge/sdk';
import { restoreKeyedCache } from './cache.js';

/** What every build-tool action takes: where the tool runs, its environment and extra arguments. */
export interface BuildToolOptions {
  /** Directory in the workspace where the tool runs. @default '.' */
  cwd?: string;
  /** Extra environment variables for the tool (e.g. `{ MAVEN_OPTS: '-Xmx2g' }`). @default {} */
  env?: Readonly<Record<string, string>>;
  /** Extra arguments, appended to the command line, each quoted as one word. @default [] */
  args?: readonly string[];
}

/** What the build tools with a package cache (maven, cargo, gradle) take besides. */
export interface CachedBuildToolOptions extends BuildToolOptions {
  /**
   * Restore the tool's download cache before it runs, keyed by the hash of its build or lock
   * files, and save it when the job succeeds; `false` opts out. @default true
   */
  cache?: boolean;
}

/** Options of {@link maven}: `mvn -B <goals> <args>`. */
export interface MavenOptions extends CachedBuildToolOptions {
  /** Goals and phases, in order (`['clean', 'verify']`). */
  goals: readonly string[];
}

/** Options of {@link cargo}: `cargo <command> <args>`. */
export interface CargoOptions extends CachedBuildToolOptions {
  /** The cargo subcommand (`build`, `test`, `clippy`...). */
  command: string;
}

/** Options of {@link sbt}: `sbt -batch <commands> <args>`. */
export interface SbtOptions extends BuildToolOptions {
  /** sbt commands, in order (`['compile', 'test']`). */
  commands: readonly string[];
}

/** Options of {@link gradle}: `./gradlew <tasks> <args>` (or `gradle` where there is no wrapper). */
export interface GradleOptions extends CachedBuildToolOptions {
  /** Tasks, in order (`['build']`). */
  tasks: readonly string[];
}

const shellOf = (ctx: JobContext<unknown>, o: BuildToolOptions) => ctx.sh.with({ cwd: o.cwd, env: o.env });

/** The files of the tool's project under `cwd`, as hashFiles patterns. */
const under = (o: BuildToolOptions, patterns: readonly string[]) => patterns.map((p) => posix.join(o.cwd ?? '.', p));

/** The package caches of the build tools: what each keeps, keyed by which files. */
const CACHES = {
  maven: { hashFiles: ['**/pom.xml'], paths: ['~/.m2/repository'] },
  cargo: {
    hashFiles: ['**/Cargo.lock'],
    paths: ['~/.cargo/registry/index', '~/.cargo/registry/cache', '~/.cargo/git/db'],
  },
  gradle: {
    hashFiles: ['**/*.gradle', '**/*.gradle.kts', '**/gradle-wrapper.properties', '**/gradle/libs.versions.toml'],
    paths: ['~/.gradle/caches', '~/.gradle/wrapper'],
  },
} as const;

const toolCache = (ctx: JobContext<unknown>, tool: keyof typeof CACHES, o: CachedBuildToolOptions) =>
  o.cache === false
    ? null
    : restoreKeyedCache(ctx, {
        prefix: tool,
        hashFiles: under(o, CACHES[tool].hashFiles),
        paths: CACHES[tool].paths,
        skipHostHome: true,
      });

/**
 * `mvn -B <goals> <args>`: Maven in batch mode.
 * @example await maven(ctx, { goals: ['verify'], args: ['-DskipITs'], env: { MAVEN_OPTS: '-Xmx2g' } });
 */
export const maven = defineAction<MavenOptions, void>({
  name: 'maven',
  async run(ctx, o) {
    await toolCache(ctx, 'maven', o);
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
    await toolCache(ctx, 'cargo', o);
    await shellOf(ctx, o)`cargo ${[o.command, ...(o.args ?? [])]}`;
  },
});

/**
 * `./gradlew <tasks> <args>` where the project has a wrapper, else `gradle`; `--no-daemon`
 * is for `args` to add.
 * @example await gradle(ctx, { tasks: ['build'], args: ['--no-daemon'] });
 */
export const gradle = defineAction<GradleOptions, void>({
  name: 'gradle',
  async run(ctx, o) {
    await toolCache(ctx, 'gradle', o);
    const wrapper = (await ctx.sh.with({ cwd: o.cwd, nothrow: true, quiet: true })`test -x ./gradlew`).exitCode === 0;
    await shellOf(ctx, o)`${wrapper ? './gradlew' : 'gradle'} ${[...o.tasks, ...(o.args ?? [])]}`;
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
