/**
 * Restores and saves cache entries for jobs: scoping by pipeline and branch (a branch restores
 * its own entries, then its default branch's), GitHub's key matching, immutable keys, and the
 * per-pipeline size limit with least-recently-used eviction. See docs/concepts.md, "Caches".
 */
import { type Clock, systemClock } from '../clock.js';
import type { OpenedBlob } from '../store/blobs.js';
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

/** The largest one entry may be: 10 GiB, or the pipeline's limit if smaller. */
export const MAX_CACHE_ENTRY_BYTES = 10 * 1024 ** 3;

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
  /**
   * Saves the archive `source` streams under the key, unless the key has an entry (then the
   * source is not read). `expectedSha256`: the hash the sender computed, checked.
   */
  save(
    scope: CacheScope,
    request: {
      key: string;
      version: string;
      source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream;
      expectedSha256?: string;
    },
  ): Promise<CacheSaveAnswer>;
  /** An entry of the scope's pipeline and its archive; null when it has none of that id. */
  read(scope: CacheScope, id: string): Promise<{ entry: CacheEntryRecord; blob: OpenedBlob } | null>;
  /** The most bytes one entry of any pipeline may take. */
  readonly maxEntryBytes: number;
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
      // Records only: their blobs go with the blob sweep once nothing names them.
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
  const maxEntryBytes = Math.min(config.limitBytes, MAX_CACHE_ENTRY_BYTES);
  return {
    config,
    maxEntryBytes,
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
      const fields = { pipeline: scope.pipeline, scope: scopeOf(scope), key: request.key, version: request.version };
      const id = cacheEntryIdOf(fields);
      // A key saved before is kept: its archive is not even read.
      const existing = await store.getCacheEntry(id);
      if (existing) return { saved: false, entry: existing, evicted: 0 };
      const blob = await store.putCacheBlob(request.source, {
        maxBytes: maxEntryBytes,
        what: `the cache entry (pipeline '${scope.pipeline}' keeps at most ${maxEntryBytes} bytes of one)`,
        expectedSha256: request.expectedSha256,
      });
      const now = clock.now();
      const entry: CacheEntryRecord = {
        _id: id,
        ...fields,
        size: blob.size,
        sha256: blob.sha256,
        createdAt: now,
        lastUsedAt: now,
      };
      if (!(await store.insertCacheEntry(entry))) {
        // Another save of the key won meanwhile: this archive, unless it is theirs too, is left
        // to the blob sweep.
        return { saved: false, entry: (await store.getCacheEntry(id)) ?? entry, evicted: 0 };
      }
      return { saved: true, entry, evicted: await evict(scope.pipeline, entry._id) };
    },
    async read(scope, id) {
      const entry = await store.getCacheEntry(id);
      // An entry of another pipeline is as absent as one that does not exist, and so is one
      // evicted between reading its record and its archive.
      if (!entry || entry.pipeline !== scope.pipeline) return null;
      const blob = await store.openCacheBlob(entry.sha256);
      return blob ? { entry, blob } : null;
    },
  };
}
