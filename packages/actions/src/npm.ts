import { posix } from 'node:path';
import { type JobContext, defineAction } from '@hiveforge/sdk';
import { restoreKeyedCache } from './cache.js';

/** What every npm action takes: where npm runs, its environment and extra arguments. */
export interface NpmOptions {
  /** Directory in the workspace where npm runs (the one with `package.json`). @default '.' */
  cwd?: string;
  /** Extra environment variables for npm (e.g. `{ NODE_OPTIONS: '--max-old-space-size=4096' }`). @default {} */
  env?: Readonly<Record<string, string>>;
  /** Extra arguments, appended to the command line, each quoted as one word. @default [] */
  args?: readonly string[];
}

/**
 * Options of {@link npm}`.ci`. `args` are npm's own flags, after the defaults
 * (`npm ci --no-audit --no-fund <args>`).
 * @example await npm.ci(ctx, { args: ['--legacy-peer-deps'] });
 */
export interface NpmCiOptions extends NpmOptions {
  /**
   * Restore npm's download cache (`~/.npm`) before the install, keyed by the lockfile's hash,
   * and save it when the job succeeds; `false` opts out. @default true
   */
  cache?: boolean;
}

/**
 * Options of {@link npm}`.run`. `args` go to the script (`npm run <script> -- <args>`);
 * `npmArgs` are npm's own flags (`npm run <script> <npmArgs>`).
 * @example await npm.run(ctx, { script: 'build', npmArgs: ['--workspaces'], args: ['--watch=false'] });
 */
export interface NpmRunOptions extends NpmOptions {
  /** The script of `package.json` to run. */
  script: string;
  /** npm's own flags, before the script's arguments. @default [] */
  npmArgs?: readonly string[];
}

/**
 * Options of {@link npm}`.test`. `args` go to the test script (`npm test -- <args>`);
 * `npmArgs` are npm's own flags.
 * @example await npm.test(ctx, { args: ['--reporter=dot'] });
 */
export interface NpmTestOptions extends NpmOptions {
  /** npm's own flags, before the script's arguments. @default [] */
  npmArgs?: readonly string[];
}

const shellOf = (ctx: JobContext<unknown>, o: NpmOptions) => ctx.sh.with({ cwd: o.cwd, env: o.env });

/** npm's flags, then the script's arguments after `--` when there are any. */
const scriptArgs = (o: NpmTestOptions): string[] => [
  ...(o.npmArgs ?? []),
  ...(o.args?.length ? ['--', ...o.args] : []),
];

/** `npm ci --no-audit --no-fund <args>`: a clean install from the lockfile. */
const ci = defineAction<NpmCiOptions | undefined, void>({
  name: 'npm.ci',
  async run(ctx, options = {}) {
    if (options.cache !== false) {
      const dir = options.cwd ?? '.';
      await restoreKeyedCache(ctx, {
        prefix: 'npm',
        hashFiles: [posix.join(dir, 'package-lock.json'), posix.join(dir, 'npm-shrinkwrap.json')],
        paths: ['~/.npm'],
        // The process executor's ~/.npm in the user's real home is already there (npm's own cache).
        skipHostHome: true,
      });
    }
    await shellOf(ctx, options)`npm ${['ci', '--no-audit', '--no-fund', ...(options.args ?? [])]}`;
  },
});

/** `npm run <script> <npmArgs> -- <args>`. */
const run = defineAction<NpmRunOptions, void>({
  name: 'npm.run',
  async run(ctx, options) {
    await shellOf(ctx, options)`npm ${['run', options.script, ...scriptArgs(options)]}`;
  },
});

/** `npm test <npmArgs> -- <args>`. */
const test = defineAction<NpmTestOptions | undefined, void>({
  name: 'npm.test',
  async run(ctx, options = {}) {
    await shellOf(ctx, options)`npm ${['test', ...scriptArgs(options)]}`;
  },
});

/**
 * npm steps. Each takes `cwd`, `env` and `args` ({@link NpmOptions}).
 * @example
 * await npm.ci(ctx, { args: ['--legacy-peer-deps'] });
 * await npm.run(ctx, { script: 'build' });
 * await npm.test(ctx, { cwd: 'packages/web', args: ['--coverage'] });
 */
export const npm = { ci, run, test } as const;
