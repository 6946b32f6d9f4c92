/**
 * The caches aggregate of the store: cache entries (a key's saved archive, by pipeline, branch
 * scope and paths version), each naming its archive's blob by SHA-256. See docs/concepts.md,
 * "Caches".
 */
import { createHash } from 'node:crypto';
import type { OpenedBlob, PutBlobOptions, PutBlobResult } from '../blobs.js';

/** One saved cache entry. Its archive is a blob; an entry never changes once saved. */
export interface CacheEntryRecord {
  /** {@link cacheEntryIdOf} its pipeline, scope, version and key: the insert that wins decides. */
  _id: string;
  pipeline: string;
  /** The branch whose runs saved it. */
  scope: string;
  key: string;
  /** A hash of the entry's paths: a restore naming other paths does not see it. */
  version: string;
  /** Bytes of its archive. */
  size: number;
  /** SHA-256 of its archive, hex: the blob holding it. */
  sha256: string;
  createdAt: number;
  /** When it was last restored, or saved: eviction removes the least recent first. */
  lastUsedAt: number;
}

/** Which entries {@link CacheStore.findCacheEntries} reads. */
export interface CacheEntryQuery {
  pipeline: string;
  version: string;
  /** The branches whose entries are read. */
  scopes: readonly string[];
}

/**
 * The caches part of the Store port. Archives are blobs (content-addressed, streamed; see
 * `BlobStore`) kept where the adapter keeps cache bytes: the MongoDB store's GridFS blobs, the
 * memory store's caches directory (so `hiveforge run` keeps them between runs). Bytes go in
 * before the record that names them.
 */
export interface CacheStore {
  /** Streams an archive into the caches' blob storage (see `BlobStore.putBlob`). */
  putCacheBlob(
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    options?: PutBlobOptions,
  ): Promise<PutBlobResult>;
  /** An archive, streamed, or null when there is no blob of that hash. */
  openCacheBlob(sha256: string): Promise<OpenedBlob | null>;
  /**
   * Inserts an entry (its blob stored first). False, with nothing changed, when an entry of that
   * id exists: a key, once saved, is immutable (as GitHub Actions' caches).
   */
  insertCacheEntry(entry: CacheEntryRecord): Promise<boolean>;
  /** The entries of a pipeline and version in the given scopes, in no particular order. */
  findCacheEntries(query: CacheEntryQuery): Promise<CacheEntryRecord[]>;
  /** An entry, or null. */
  getCacheEntry(id: string): Promise<CacheEntryRecord | null>;
  /** Sets an entry's `lastUsedAt` (nothing when it is gone). */
  touchCacheEntry(id: string, at: number): Promise<void>;
  /** The entries of one pipeline, or of all, by pipeline then key. */
  listCacheEntries(pipeline?: string): Promise<CacheEntryRecord[]>;
  /**
   * Removes an entry's record, resolving with it (null when there was none); its blob stays
   * until the blob sweep collects it (`BlobCollectionStore`), once nothing names it.
   */
  removeCacheEntry(id: string): Promise<CacheEntryRecord | null>;
}

/** The id of a pipeline's entry of one key, version and scope: a hash, so any key fits. */
export function cacheEntryIdOf(entry: Pick<CacheEntryRecord, 'pipeline' | 'scope' | 'version' | 'key'>): string {
  return createHash('sha256')
    .update([entry.pipeline, entry.scope, entry.version, entry.key].join('\0'))
    .digest('hex')
    .slice(0, 40);
}

/** Sorts entries as `listCacheEntries` returns them. */
export const byPipelineThenKey = (a: CacheEntryRecord, b: CacheEntryRecord): number =>
  a.pipeline === b.pipeline
    ? a.key === b.key
      ? a.scope < b.scope
        ? -1
        : 1
      : a.key < b.key
        ? -1
        : 1
    : a.pipeline < b.pipeline
      ? -1
      : 1;
