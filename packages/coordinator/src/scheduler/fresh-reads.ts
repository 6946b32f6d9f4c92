/**
 * Reads that must start after they are asked for, shared by the callers that ask meanwhile.
 *
 * A completion reads its run's witness job (see `stillBlocked` in dag.ts) after its own job's
 * update, so that of two coordinators ending a run's last two jobs at once, at least one sees the
 * other's end. Any read that starts after the update keeps that promise, so completions of one
 * run need not each read the witness: while a read of it is in flight, every caller asking joins
 * the next read, which starts when the one in flight ends. At most two reads of one key are then
 * outstanding (one in flight, one waiting), however many completions arrive.
 */
export interface FreshReads<T> {
  /** A read of `key` that starts after this call. */
  after(key: string): Promise<T>;
  /** Keys with a read in flight or waiting (for tests). */
  readonly size: number;
}

export function createFreshReads<T>(read: (key: string) => Promise<T>): FreshReads<T> {
  const reads = new Map<string, { current: Promise<T>; next: Promise<T> | null }>();
  const start = (key: string): Promise<T> => {
    const current = read(key);
    const entry = { current, next: null as Promise<T> | null };
    reads.set(key, entry);
    const settled = () => {
      if (reads.get(key) === entry && entry.next === null) reads.delete(key);
    };
    current.then(settled, settled);
    return current;
  };
  return {
    after(key) {
      const entry = reads.get(key);
      if (!entry) return start(key);
      if (entry.next) return entry.next;
      const next = entry.current.then(
        () => start(key),
        () => start(key),
      );
      entry.next = next;
      return next;
    },
    get size() {
      return reads.size;
    },
  };
}
