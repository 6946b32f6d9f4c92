/**
 * `items` (oldest first) from the `startAt`-th on, then the ones before it: the order in which
 * `findQueuedJobs` with `startAt` returns eligible jobs. `startAt` counts modulo their number.
 */
export function rotated<T>(items: readonly T[], startAt: number): T[] {
  if (items.length === 0) return [];
  const k = startAt % items.length;
  return k === 0 ? [...items] : [...items.slice(k), ...items.slice(0, k)];
}
