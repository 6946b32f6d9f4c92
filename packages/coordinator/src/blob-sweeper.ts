import { type Clock, systemClock } from './clock.js';
import type { Store } from './store/types.js';

/** Default of {@link BlobSweeperOptions.graceMs}: 15 minutes. */
export const DEFAULT_BLOB_GRACE_MS = 15 * 60_000;
/** The longest time between two blob sweeps of a coordinator. */
const MAX_SWEEP_INTERVAL_MS = 10 * 60_000;
/** Blobs looked at per store call. */
const BATCH = 100;

/** Options of {@link createBlobSweeper}. */
export interface BlobSweeperOptions {
  store: Store;
  /**
   * A blob is collected only once no record names it and it was last put this long ago: the
   * time a record's write may take after its bytes were stored (and the clocks of coordinators
   * sharing a store may differ by), with a wide margin.
   * @default DEFAULT_BLOB_GRACE_MS (15 minutes)
   */
  graceMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

/** Deletes blobs no artifact and no cache entry names (see docs/operations.md, "Blob collection"). */
export interface BlobSweeper {
  /** How often to sweep: half the grace period, at most every 10 minutes. */
  readonly intervalMs: number;
  /** One whole pass over the store's blobs; resolves with the SHA-256s it deleted. */
  sweep(): Promise<string[]>;
}

/**
 * Creates the blob sweeper. Every coordinator runs one; coordinators sweeping at once are
 * harmless (a blob is deleted once, the others find it gone). Safety against uploads in flight
 * and against a new record naming the same content comes from the store's `collectBlobs`: only
 * blobs last put before now minus the grace period, and the last put checked again by the
 * delete itself.
 */
export function createBlobSweeper({
  store,
  graceMs = DEFAULT_BLOB_GRACE_MS,
  clock = systemClock,
}: BlobSweeperOptions): BlobSweeper {
  return {
    intervalMs: Math.max(1, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(graceMs / 2))),
    async sweep() {
      const putBefore = clock.now() - graceMs;
      const deleted: string[] = [];
      let after: string | null = null;
      do {
        const step = await store.collectBlobs({ putBefore, after, limit: BATCH });
        deleted.push(...step.deleted);
        after = step.next;
      } while (after !== null);
      return deleted;
    },
  };
}
