/**
 * Collects what a synchronous declaration function declares: `pipeline()` runs its build
 * function through one, and each `job()` call inside adds to it.
 */
export interface DeclarationCollector<T> {
  /** What the declaration under way has collected so far; null when none is under way. */
  current(): T[] | null;
  /**
   * Runs `declare`, collecting what is added meanwhile, and returns it with what `declare`
   * returned. One declaration at a time: the caller refuses a nested one (see `current`).
   */
  collect(declare: () => unknown): { collected: T[]; returned: unknown };
}

/** Creates a collector with no declaration under way. */
export function createDeclarationCollector<T>(): DeclarationCollector<T> {
  let collecting: T[] | null = null;
  return {
    current: () => collecting,
    collect(declare) {
      const collected: T[] = [];
      collecting = collected;
      try {
        return { collected, returned: declare() };
      } finally {
        collecting = null;
      }
    },
  };
}
