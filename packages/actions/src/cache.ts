import { type CacheResult, type JobContext, defineAction } from '@hiveforge/sdk';

/**
 * Options of the {@link cache} action: a key prefix completed by the hash of the files that
 * decide the cached content (lockfiles), as GitHub Actions' `actions/cache` is used.
 */
export interface CacheActionOptions {
  /** The key's prefix (`npm`, `maven-linux`): the key is `<prefix>-<hash of hashFiles>`. */
  prefix: string;
  /** Glob patterns (relative to the workspace, `!` excludes) whose content completes the key. */
  hashFiles: readonly string[];
  /** What the entry holds: workspace-relative, `~/…` or absolute paths. */
  paths: readonly string[];
  /** Prefixes tried when the exact key has no entry. @default [`<prefix>-`] */
  restoreKeys?: readonly string[];
  /** Save the paths when the job succeeds (not after an exact hit). @default true */
  save?: boolean;
  /** Skip `~` paths in the host's own home (`CacheOptions.skipHostHome`). @default false */
  skipHostHome?: boolean;
}

/**
 * Restores a cache keyed by the hash of some files, and saves it when the job succeeds. When
 * none of the files exists there is no key: nothing is restored or saved.
 * @example
 * await cache(ctx, { prefix: 'pip', hashFiles: ['requirements*.txt'], paths: ['~/.cache/pip'] });
 */
export const cache = defineAction<CacheActionOptions, CacheResult>({
  name: 'cache',
  async run(ctx, o) {
    return restoreKeyedCache(ctx, o);
  },
});

/** The {@link cache} action's work, for the package actions' default caches. */
export async function restoreKeyedCache(ctx: JobContext<unknown>, o: CacheActionOptions): Promise<CacheResult> {
  const hash = await ctx.hashFiles(...o.hashFiles);
  if (!hash) {
    ctx.log(`cache ${o.prefix}: none of ${o.hashFiles.join(', ')} exists; not cached`);
    return { hit: 'miss', key: null };
  }
  return ctx.cache({
    key: `${o.prefix}-${hash}`,
    paths: o.paths,
    restoreKeys: o.restoreKeys ?? [`${o.prefix}-`],
    save: o.save ?? true,
    skipHostHome: o.skipHostHome ?? false,
  });
}
