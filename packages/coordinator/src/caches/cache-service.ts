/**
 * Restores and saves cache entries for jobs: scoping by pipeline and branch (a branch restores
 * its own entries, then its default branch's), GitHub's key matching, immutable keys, and the
 * per-pipeline size limit with least-recently-used eviction. See docs/concepts.md, "Caches".
 */
import { createHash } from 'node:crypto';
import { PayloadTooLargeError } from '@hiveforge/sdk';
import { type Clock, systemClock } from '../clock.js';
import { type CacheEntryRecord, type CacheStore, cacheEntryIdOf } from '../store/ports/caches.js';
import { chooseEvictions } from './eviction.js';
import { matchCacheEntry } from './restore-match.js';

/** Options of the coordinator's caches. */
export interface CachesOptions {
  /** The most bytes of cache entries one pipeline keeps. @default DEFAULT_CACHE_LIMIT_BYTES (10 GiB) */
  limitBytes?: number;
  /**
   * The branch whose entries every branch may restore, and the scope of runs that have no
   * branch (manual and scheduled runs without one). @default 'main'
   */
  defaultBranch?: string;
}

/** The parsed, defaulted {@link CachesOptions}. */
export interface ResolvedCachesConfig {
  limitBytes: number;
  defaultBranch: string;
}

/** A pipeline keeps up to 10 GiB of cache entries by default (GitHub's per-repository limit). */
export const DEFAULT_CACHE_LIMIT_BYTES = 10 * 1024 ** 3;

/**
 * The largest one entry may be: 1 GiB, or the pipeline's limit if smaller. An entry's archive
 * is held in memory on its way through the coordinator.
 */
export const MAX_CACHE_ENTRY_BYTES = 1024 ** 3;

/** Which run a cache request comes from. */
export interface CacheScope {
  pipeline: string;
  /** The run's branch; null for runs without one. */
  branch: string | null;
}

/** What a restore found. */
export interface CacheRestoreAnswer {
  hit: 'exact' | 'prefix' | 'miss';
  entry: CacheEntryRecord | null;
}

/** What a save did. */
export interface CacheSaveAnswer {
  /** False when an entry of this key and scope existed (it is kept unchanged). */
  saved: boolean;
  entry: CacheEntryRecord;
  /** The entries removed to keep the pipeline under its limit. */
  evicted: number;
}

/** The coordinator's cache operations. */
export interface CacheService {
  readonly config: ResolvedCachesConfig;
  restore(
    scope: CacheScope,
    request: { key: string; restoreKeys: readonly string[]; version: string },
  ): Promise<CacheRestoreAnswer>;
  save(scope: CacheScope, request: { key: string; version: string; data: Buffer }): Promise<CacheSaveAnswer>;
  /** An entry of the scope's pipeline and its archive; null when it has none of that id. */
  read(scope: CacheScope, id: string): Promise<{ entry: CacheEntryRecord; data: Buffer } | null>;
}

/** Resolves the caches' options. */
export function resolveCachesConfig(options: CachesOptions = {}): ResolvedCachesConfig {
  return {
    limitBytes: options.limitBytes ?? DEFAULT_CACHE_LIMIT_BYTES,
    defaultBranch: options.defaultBranch ?? 'main',
  };
}

/** Creates the cache operations over the store's caches aggregate. */
export function createCacheService(deps: { store: CacheStore; options?: CachesOptions; clock?: Clock }): CacheService {
  const config = resolveCachesConfig(deps.options);
  const clock = deps.clock ?? systemClock;
  const { store } = deps;
  const scopeOf = (scope: CacheScope) => scope.branch ?? config.defaultBranch;
  // Saves of one pipeline evict one after another, so two saves at once never both count the
  // same entries and remove more than needed.
  const evicting = new Map<string, Promise<unknown>>();
  const evict = (pipeline: string, keep: string): Promise<number> => {
    const previous = evicting.get(pipeline) ?? Promise.resolve();
    const next = previous.then(async () => {
      const chosen = chooseEvictions(await store.listCacheEntries(pipeline), config.limitBytes, keep);
      for (const entry of chosen) await store.removeCacheEntry(entry._id);
      return chosen.length;
    });
    const settled = next.catch(() => 0);
    evicting.set(pipeline, settled);
    void settled.then(() => {
      if (evicting.get(pipeline) === settled) evicting.delete(pipeline);
    });
    return next;
  };
  return {
    config,
    async restore(scope, request) {
      const branch = scopeOf(scope);
      const entries = await store.findCacheEntries({
        pipeline: scope.pipeline,
        version: request.version,
        scopes: [branch, config.defaultBranch],
      });
      const match = matchCacheEntry(entries, { ...request, scopes: [branch, config.defaultBranch] });
      if (!match) return { hit: 'miss', entry: null };
      const at = clock.now();
      await store.touchCacheEntry(match.entry._id, at);
      return { hit: match.hit, entry: { ...match.entry, lastUsedAt: Math.max(match.entry.lastUsedAt, at) } };
    },
    async save(scope, request) {
      const limit = Math.min(config.limitBytes, MAX_CACHE_ENTRY_BYTES);
      if (request.data.length > limit)
        throw new PayloadTooLargeError(
          `the cache entry is ${request.data.length} bytes; an entry of pipeline '${scope.pipeline}' may be at most ${limit}`,
          limit,
        );
      const now = clock.now();
      const fields = { pipeline: scope.pipeline, scope: scopeOf(scope), key: request.key, version: request.version };
      const entry: CacheEntryRecord = {
        _id: cacheEntryIdOf(fields),
        ...fields,
        size: request.data.length,
        sha256: createHash('sha256').update(request.data).digest('hex'),
        createdAt: now,
        lastUsedAt: now,
      };
      if (!(await store.insertCacheEntry(entry, request.data))) {
        const existing = await store.getCacheEntry(entry._id);
        return { saved: false, entry: existing?.entry ?? entry, evicted: 0 };
      }
      return { saved: true, entry, evicted: await evict(scope.pipeline, entry._id) };
    },
    async read(scope, id) {
      const found = await store.getCacheEntry(id);
      // An entry of another pipeline is as absent as one that does not exist.
      return found && found.entry.pipeline === scope.pipeline ? found : null;
    },
  };
}
