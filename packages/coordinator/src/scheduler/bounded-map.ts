/**
 * Sets `key` in a map kept to at most `limit` entries, as its newest: when the map is full, the
 * entry set longest ago goes. The scheduler's caches and hints (run origins, specs, blockers,
 * leased jobs, run progress) are all kept this way, so none grows without bound.
 */
export function remember<K, V>(map: Map<K, V>, key: K, limit: number, value: V): void {
  map.delete(key);
  if (map.size >= limit) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
