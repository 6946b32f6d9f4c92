/**
 * The size limit of a pipeline's caches: when its entries together pass the limit, the least
 * recently used go (last restored, or saved when never restored) until they fit, as GitHub
 * Actions evicts a repository's caches.
 */

/** What eviction reads of an entry. */
export interface EvictionCandidate {
  _id: string;
  size: number;
  /** When it was last restored, or saved. */
  lastUsedAt: number;
}

/**
 * The entries to remove, least recently used first, so that the rest total at most
 * `limitBytes`. The entry `keep` (the one just saved) is never chosen.
 */
export function chooseEvictions<T extends EvictionCandidate>(
  entries: readonly T[],
  limitBytes: number,
  keep?: string,
): T[] {
  let total = entries.reduce((sum, e) => sum + e.size, 0);
  if (total <= limitBytes) return [];
  const oldestFirst = entries
    .filter((e) => e._id !== keep)
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a._id < b._id ? -1 : 1));
  const evicted: T[] = [];
  for (const entry of oldestFirst) {
    if (total <= limitBytes) break;
    evicted.push(entry);
    total -= entry.size;
  }
  return evicted;
}
