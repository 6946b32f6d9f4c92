import type { StaleMarker } from '@hiveforge/coordinator';

/** A time of day as `14:02:11Z` (UTC). */
const timeOfDay = (ms: number) => `${new Date(ms).toISOString().slice(11, 19)}Z`;

/**
 * The one-line notice of an answer a coordinator gave from what it last saw, because its store
 * is out (the `stale` of `runs.get`, `runs.list`, `agents.list`, …); null for a fresh answer.
 * @example staleNotice(run.stale) // "store unavailable since 14:02:11Z; showing what this coordinator last saw (at 14:02:09Z)"
 */
export function staleNotice(stale: StaleMarker | null | undefined): string | null {
  if (!stale) return null;
  return `store unavailable since ${timeOfDay(stale.since)}; showing what this coordinator last saw (at ${timeOfDay(stale.seenAt)})`;
}

/**
 * The one-line notice of a follow (`runs.watch`) that got no news because the coordinator's store
 * is out; the news follow once it is back.
 */
export const followStaleNotice = (stale: StaleMarker): string =>
  `store unavailable since ${timeOfDay(stale.since)}; following goes on when it is back`;
