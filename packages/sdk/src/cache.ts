/**
 * Caches: directories a job restores before its work and saves after it succeeds, found again by
 * key in later runs of the same pipeline. See docs/concepts.md, "Caches".
 */
import { CacheInvalidError } from './errors.js';

/** How a `ctx.cache` call found its entry. */
export const CacheHit = {
  /** An entry saved under exactly the key. */
  exact: 'exact',
  /** The newest entry whose key starts with one of the restore keys (tried in order). */
  prefix: 'prefix',
  /** Nothing to restore. */
  miss: 'miss',
} as const;
export type CacheHit = (typeof CacheHit)[keyof typeof CacheHit];

/** Options of `ctx.cache`. */
export interface CacheOptions {
  /**
   * The entry's key, usually a tool name and a lockfile hash. Up to 512 characters, no comma.
   * @example `npm-${await ctx.hashFiles('package-lock.json')}`
   */
  key: string;
  /**
   * What the entry holds: paths relative to the workspace, `~/…` (the job's home) or absolute.
   * Restore and save must name the same paths: the entry records them (as GitHub's version).
   */
  paths: readonly string[];
  /**
   * Prefixes tried in order when no entry has the exact key; the newest entry whose key starts
   * with the first matching prefix is restored. @default []
   */
  restoreKeys?: readonly string[];
  /**
   * Save the paths under `key` when the job succeeds (skipped after an exact hit: an entry's
   * key is never overwritten). @default true
   */
  save?: boolean;
  /**
   * Skip the cache (restore nothing, save nothing, one line in the job's log says why) when one
   * of its `~` paths is in the host's own home: the `process` executor with the user's real home
   * directory (the password database's), not a per-job `HOME`. That directory is already in
   * place and kept between jobs, so a restore would copy it onto itself and a save would upload
   * everything the host ever put there. The package actions' default caches set it. @default false
   */
  skipHostHome?: boolean;
}

/** What `ctx.cache` restored. */
export interface CacheResult {
  hit: CacheHit;
  /** The key of the restored entry (the requested key on an exact hit), null on a miss. */
  key: string | null;
}

/** The longest cache key or restore key, in characters. */
export const CACHE_KEY_MAX_LENGTH = 512;
/** The most paths one cache entry holds. */
export const CACHE_MAX_PATHS = 32;
/** The most restore keys one `ctx.cache` call tries. */
export const CACHE_MAX_RESTORE_KEYS = 16;

// Control characters and commas: a comma separates keys in GitHub's cache API, kept out here too.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BAD_KEY = /[\u0000-\u001f\u007f,]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BAD_PATH = /[\u0000-\u001f\u007f]/;

/**
 * Checks one cache key or restore key: 1–512 characters, no comma or control character.
 * Throws a {@link CacheInvalidError} that names `what`.
 */
export function checkCacheKey(what: string, key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw new CacheInvalidError(`${what} must be a non-empty string`);
  if (key.length > CACHE_KEY_MAX_LENGTH)
    throw new CacheInvalidError(`${what} is ${key.length} characters; a cache key is at most ${CACHE_KEY_MAX_LENGTH}`);
  if (BAD_KEY.test(key))
    throw new CacheInvalidError(`${what} ${JSON.stringify(key)} holds a comma or a control character`);
  return key;
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path.trim() === '')
    throw new CacheInvalidError('a cache path must be a non-empty string');
  const shown = JSON.stringify(path.slice(0, 200));
  if (path.length > 1024 || BAD_PATH.test(path)) throw new CacheInvalidError(`cache path ${shown} is malformed`);
  if (/^~[^/]/.test(path))
    throw new CacheInvalidError(`cache path ${shown}: only ~ or ~/… (the job's home) is supported`);
  if (path.split('/').includes('..'))
    throw new CacheInvalidError(`cache path ${shown} has a '..' segment; write it absolute or from ~ instead`);
  return path;
}

/**
 * Checks a `ctx.cache` call's options: keys 1–512 characters without commas or control
 * characters, 1–32 paths (workspace-relative, `~`, `~/…` or absolute, no `..` segment), at most
 * 16 restore keys. Throws a {@link CacheInvalidError} naming what is wrong.
 * @returns the options with their defaults
 */
export function checkCacheOptions(options: CacheOptions): Required<CacheOptions> {
  if (typeof options !== 'object' || options === null) throw new CacheInvalidError('ctx.cache needs { key, paths }');
  const key = checkCacheKey('the cache key', options.key);
  if (!Array.isArray(options.paths) || options.paths.length === 0)
    throw new CacheInvalidError('ctx.cache needs at least one path');
  if (options.paths.length > CACHE_MAX_PATHS)
    throw new CacheInvalidError(
      `ctx.cache was given ${options.paths.length} paths; an entry holds at most ${CACHE_MAX_PATHS}`,
    );
  const paths = options.paths.map(checkPath);
  const restoreKeys = options.restoreKeys ?? [];
  if (!Array.isArray(restoreKeys)) throw new CacheInvalidError('restoreKeys must be a list of key prefixes');
  if (restoreKeys.length > CACHE_MAX_RESTORE_KEYS)
    throw new CacheInvalidError(
      `ctx.cache was given ${restoreKeys.length} restore keys; at most ${CACHE_MAX_RESTORE_KEYS}`,
    );
  return {
    key,
    paths,
    restoreKeys: restoreKeys.map((k, i) => checkCacheKey(`restore key ${i + 1}`, k)),
    save: options.save ?? true,
    skipHostHome: options.skipHostHome === true,
  };
}
