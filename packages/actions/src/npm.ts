import { defineAction } from '@hiveforge/sdk';

/** Where an npm command runs. */
export interface NpmOptions {
  /** Directory in the workspace. @default '.' */
  cwd?: string;
}

/** `npm ci`: a clean install from the lockfile. */
const ci = defineAction<NpmOptions | undefined, void>({
  name: 'npm.ci',
  async run(ctx, options = {}) {
    await ctx.sh.with({ cwd: options.cwd })`npm ci --no-audit --no-fund`;
  },
});

/** `npm run <script>` with optional arguments after `--`. */
const run = defineAction<NpmOptions & { script: string; args?: readonly string[] }, void>({
  name: 'npm.run',
  async run(ctx, options) {
    const args = options.args?.length ? options.args : null;
    if (args) await ctx.sh.with({ cwd: options.cwd })`npm run ${options.script} -- ${args}`;
    else await ctx.sh.with({ cwd: options.cwd })`npm run ${options.script}`;
  },
});

/** `npm test`. */
const test = defineAction<NpmOptions | undefined, void>({
  name: 'npm.test',
  async run(ctx, options = {}) {
    await ctx.sh.with({ cwd: options.cwd })`npm test`;
  },
});

/**
 * npm steps.
 * @example
 * await npm.ci(ctx);
 * await npm.run(ctx, { script: 'build' });
 */
export const npm = { ci, run, test } as const;
