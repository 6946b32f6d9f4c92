import { ConfigError, defineAction, quote } from '@hiveforge/sdk';

/** Options of {@link checkout}. */
export interface CheckoutOptions {
  /** A git URL or a local directory. @default the run's repository */
  repository?: string;
  /** A branch, tag or commit. @default the run's commit, else its branch, else the default branch */
  ref?: string;
  /** Where in the workspace. @default '.' */
  path?: string;
  /** For local directories: names left out at any depth. @default ['node_modules', '.git', '.hiveforge'] */
  exclude?: readonly string[];
  /**
   * Extra arguments of the command that fetches, after its own options: `git fetch` for a git
   * URL (`['--recurse-submodules=yes']`), the `tar` that copies a local directory
   * (`['--exclude=*.log']`). Each is quoted as one word.
   * @default []
   */
  args?: readonly string[];
  /**
   * Extra environment variables for git or tar (e.g. `{ GIT_SSH_COMMAND: 'ssh -i key' }`).
   * Where the sources go is `path`.
   * @default {}
   */
  env?: Readonly<Record<string, string>>;
}

const isLocal = (repository: string) => repository.startsWith('/') || repository.startsWith('file://');

/**
 * Puts the run's sources in the workspace. A local directory (what `hiveforge run` gives) is
 * copied without `node_modules`, `.git` and `.hiveforge`; a git URL is fetched at the run's commit
 * with depth 1.
 * @example await checkout(ctx);
 */
export const checkout = defineAction<CheckoutOptions | undefined, void>({
  name: 'checkout',
  description: 'put the run’s sources in the workspace',
  async run(ctx, options = {}) {
    const repository = options.repository ?? ctx.trigger.repository;
    if (!repository) throw new ConfigError('checkout: the run has no repository; pass { repository }');
    const path = options.path ?? '.';
    const args = (options.args ?? []).map(quote).join(' ');
    const env = options.env;
    if (isLocal(repository)) {
      const source = repository.replace(/^file:\/\//, '');
      const excludes = (options.exclude ?? ['node_modules', '.git', '.hiveforge'])
        .map((e) => `--exclude=${quote(e)}`)
        .join(' ');
      await ctx.sh(
        `mkdir -p ${quote(path)} && tar -C ${quote(source)} ${excludes} ${args} -cf - . | tar -xf - -C ${quote(path)}`,
        { env },
      );
      return;
    }
    const ref = options.ref ?? ctx.trigger.commit ?? ctx.trigger.branch ?? 'HEAD';
    await ctx.sh(
      `mkdir -p ${quote(path)} && cd ${quote(path)} && git init -q && git remote add origin ${quote(repository)} && git fetch -q --depth 1 ${args} origin ${quote(ref)} && git checkout -q FETCH_HEAD`,
      { env },
    );
  },
});
