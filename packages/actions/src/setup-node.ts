import { ConfigError, defineAction } from '@hiveforge/sdk';

/**
 * Checks that the job environment has Node.js of the wanted major version and puts its version
 * in the log. Images pin the toolchain; this step makes a mismatch a clear error, not a
 * confusing failure later.
 * @example await setupNode(ctx, { version: '20' });
 */
export const setupNode = defineAction<{ version: string }, string>({
  name: 'setup-node',
  async run(ctx, { version }) {
    const { stdout } = await ctx.sh('node --version', { quiet: true });
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
