/**
 * Runs tasks of one key one after another, and tasks of different keys at once: a store uses it
 * so that two writes of one record cannot interleave their steps.
 */
export interface PerKeyQueue {
  /** Runs `task` after every task of `key` queued before it has settled; resolves as it does. */
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
  /** Resolves once every task queued so far has settled. */
  idle(): Promise<void>;
}

/** Creates a {@link PerKeyQueue}. It holds an entry only for keys with tasks under way. */
export function createPerKeyQueue(): PerKeyQueue {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run(key, task) {
      const result = (tails.get(key) ?? Promise.resolve()).then(task);
      const tail = result.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    async idle() {
      await Promise.all(tails.values());
    },
  };
}
