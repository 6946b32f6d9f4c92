import { ConfigError, defineAction } from '@hiveforge/sdk';

/** Options of {@link setupNode}. */
export interface SetupNodeOptions {
  /** The wanted Node.js version: a major (`'20'`), or an exact version (`'20.11.1'`, `'v20.11.1'`). */
  version: string;
  /**
   * Directory in the workspace where `node` is asked: a version manager's shim (Volta, asdf,
   * fnm) picks the version from the files there (`.nvmrc`, `.node-version`, `package.json`).
   * @default '.'
   */
  cwd?: string;
  /** Extra environment variables for the check (e.g. a `PATH` that puts another Node.js first). @default {} */
  env?: Readonly<Record<string, string>>;
}

/**
 * Checks that the job environment has Node.js of the wanted version and puts its version in
 * the log. Images pin the toolchain; this step makes a mismatch a clear error, not a confusing
 * failure later. It runs only `node --version`, so it takes no extra arguments.
 * @example await setupNode(ctx, { version: '20' });
 */
export const setupNode = defineAction<SetupNodeOptions, string>({
  name: 'setup-node',
  async run(ctx, { version, cwd, env }) {
    const { stdout } = await ctx.sh('node --version', { quiet: true, cwd, env });
    const actual = stdout.trim().replace(/^v/, '');
    if (!actual.startsWith(`${version.replace(/^v/, '')}.`) && actual !== version.replace(/^v/, '')) {
      throw new ConfigError(
        `setup-node: the job environment has Node.js ${actual}, not ${version}; pick an image with Node.js ${version}`,
      );
    }
    ctx.log(`Node.js ${actual}`);
    return actual;
  },
});
