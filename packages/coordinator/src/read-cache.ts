import type { Clock } from './clock.js';

/** What a {@link ReadCache} holds for a key: the value as it was seen, and when. */
export interface CachedRead<T> {
  /** A copy of the value: changing it changes nothing kept. */
  value: T;
  /** When this coordinator saw it (its clock's time). */
  seenAt: number;
}

/**
 * What this coordinator last read or wrote of the store (a run and its jobs, pipelines, the
 * agents), kept so that reads can still be answered, marked stale, while the store is out (see
 * `stale-reads.ts`). It is filled only by reads and writes the coordinator makes anyway, never
 * by reads of its own, and it is never read while the store answers. Bounded by entries and by
 * bytes (of each value's JSON): past either, the least recently put or read entries go first.
 */
export interface ReadCache {
  /** Keeps `value` (a JSON-serializable value) as seen now, replacing what `key` held. */
  put(key: string, value: unknown): void;
  /** What `key` holds, as a fresh copy; undefined when nothing is kept. */
  get<T>(key: string): CachedRead<T> | undefined;
  /**
   * Stamps what `key` holds as seen now, unchanged (a read saw the same again); false when
   * nothing is kept under `key`.
   */
  touch(key: string): boolean;
  /** Forgets `key` (the store said it no longer exists). */
  delete(key: string): void;
  /** How many entries are kept. */
  readonly entries: number;
  /** How many bytes (of the entries' JSON) are kept. */
  readonly bytes: number;
}

/** Options of {@link createReadCache}. */
export interface ReadCacheOptions {
  /** The time entries are stamped with. */
  clock: Clock;
  /** The most entries kept. @default 10_000 */
  maxEntries?: number;
  /** The most bytes kept (the entries' JSON). A value larger than this is not kept. @default 64 MiB */
  maxBytes?: number;
}

/** The parsed, fully defaulted options of {@link createReadCache}. */
export interface ResolvedReadCacheConfig {
  maxEntries: number;
  maxBytes: number;
}

/** Fills in the defaults of {@link ReadCacheOptions}. */
export function resolveReadCacheConfig(options: Omit<ReadCacheOptions, 'clock'> = {}): ResolvedReadCacheConfig {
  return { maxEntries: options.maxEntries ?? 10_000, maxBytes: options.maxBytes ?? 64 * 1024 * 1024 };
}

/**
 * Creates a {@link ReadCache}. Values are kept as their JSON, which is what bounds the bytes and
 * makes each `get` a copy.
 * @example
 * const cache = createReadCache({ clock: systemClock });
 * cache.put('run:web/42', { run, jobs });
 * cache.get<{ run: RunRecord }>('run:web/42')?.seenAt;
 */
export function createReadCache(options: ReadCacheOptions): ReadCache {
  const { maxEntries, maxBytes } = resolveReadCacheConfig(options);
  const { clock } = options;
  // A Map iterates in insertion order: the first key is the least recently put or read.
  const kept = new Map<string, { json: string; size: number; seenAt: number }>();
  let bytes = 0;
  const drop = (key: string) => {
    const entry = kept.get(key);
    if (!entry) return;
    kept.delete(key);
    bytes -= entry.size;
  };
  return {
    put(key, value) {
      drop(key);
      const json = JSON.stringify(value);
      if (json === undefined) return;
      const size = Buffer.byteLength(json);
      if (size > maxBytes) return;
      kept.set(key, { json, size, seenAt: clock.now() });
      bytes += size;
      for (const oldest of kept.keys()) {
        if (kept.size <= maxEntries && bytes <= maxBytes) break;
        drop(oldest);
      }
    },
    get<T>(key: string) {
      const entry = kept.get(key);
      if (!entry) return undefined;
      kept.delete(key);
      kept.set(key, entry);
      return { value: JSON.parse(entry.json) as T, seenAt: entry.seenAt };
    },
    touch(key) {
      const entry = kept.get(key);
      if (!entry) return false;
      kept.delete(key);
      kept.set(key, { ...entry, seenAt: clock.now() });
      return true;
    },
    delete: drop,
    get entries() {
      return kept.size;
    },
    get bytes() {
      return bytes;
    },
  };
}
