/**
 * Collecting blobs that no record names any more (a replaced artifact's old archive, an evicted
 * or removed cache entry's, a refused save's, an upload whose record was never written). The
 * coordinator's blob sweeper (`blob-sweeper.ts`) drives it; see docs/operations.md, "Blob
 * collection".
 */

/** Options of {@link BlobCollectionStore.collectBlobs}. */
export interface CollectBlobsOptions {
  /**
   * Only blobs last put before this time (ms since the epoch) go: a blob is "put" when it is
   * stored and again each time identical content is stored over it, so a blob whose record is
   * still being written (its put resolved a moment ago) is never collected.
   */
  putBefore: number;
  /** The `next` of the previous call, to go on from there; null or absent starts a pass. */
  after?: string | null;
  /** The most blobs looked at in this call. @default 100 */
  limit?: number;
}

/** What one {@link BlobCollectionStore.collectBlobs} call did. */
export interface CollectedBlobs {
  /** The blobs (SHA-256) deleted. */
  deleted: string[];
  /** Where the next call goes on, or null when this pass is at its end. */
  next: string | null;
}

/** The part of the Store that deletes blobs no record names. */
export interface BlobCollectionStore {
  /**
   * Looks at up to `limit` blobs in key order after `after` and deletes each one that no
   * artifact and no cache entry names and that was last put before `putBefore`. The last-put
   * time is checked again by the delete itself, after the names were looked up: a put of the
   * same content racing the collection (dedup, then its record) keeps the blob. Leftovers of
   * puts that never finished (a crash between the bytes and their record), older than
   * `putBefore`, are removed too.
   */
  collectBlobs(options: CollectBlobsOptions): Promise<CollectedBlobs>;
}

/** Default of {@link CollectBlobsOptions.limit}. */
export const COLLECT_BLOBS_LIMIT = 100;
