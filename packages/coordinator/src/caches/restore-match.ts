/**
 * Which cache entry a restore gets: GitHub Actions' order, scope by scope (the run's branch, then
 * the pipeline's default branch): the exact key, then the newest entry whose key starts with the
 * key, then the newest entry whose key starts with each restore key in turn.
 */
import type { CacheHit } from '@hiveforge/sdk';

/** What matching reads of an entry. */
export interface CacheCandidate {
  key: string;
  /** The branch the entry belongs to. */
  scope: string;
  createdAt: number;
}

/** What a restore asks for. */
export interface CacheRestoreRequest {
  key: string;
  restoreKeys: readonly string[];
  /** The scopes searched, in order: the run's branch first, then its fallback. */
  scopes: readonly string[];
}

/** The entry a restore found, and how. */
export interface CacheMatch<T> {
  hit: Exclude<CacheHit, 'miss'>;
  entry: T;
}

const newest = <T extends CacheCandidate>(entries: readonly T[]): T | undefined =>
  entries.reduce<T | undefined>((best, e) => (!best || e.createdAt > best.createdAt ? e : best), undefined);

/**
 * The entry a restore gets among `entries` (those of the pipeline and the paths' version), or
 * null: see the module comment for the order. Only an entry with the same key is `exact`.
 */
export function matchCacheEntry<T extends CacheCandidate>(
  entries: readonly T[],
  request: CacheRestoreRequest,
): CacheMatch<T> | null {
  for (const scope of new Set(request.scopes)) {
    const inScope = entries.filter((e) => e.scope === scope);
    const exact = inScope.find((e) => e.key === request.key);
    if (exact) return { hit: 'exact', entry: exact };
    for (const prefix of [request.key, ...request.restoreKeys]) {
      const found = newest(inScope.filter((e) => e.key.startsWith(prefix)));
      if (found) return { hit: 'prefix', entry: found };
    }
  }
  return null;
}
