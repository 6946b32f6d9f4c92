/** Work the store starts without waiting for it (hint retirements, repairs, wake-up writes). */
export interface Background {
  /** Tracks `promise` until it settles; its failure is ignored. */
  track(promise: Promise<unknown>): void;
  /** Resolves once everything tracked so far has settled. */
  settled(): Promise<void>;
}

/** Creates an empty set of background work. */
export function createBackground(): Background {
  const inflight = new Set<Promise<unknown>>();
  return {
    track(promise) {
      const settled = promise.catch(() => undefined).finally(() => inflight.delete(settled));
      inflight.add(settled);
    },
    async settled() {
      await Promise.all([...inflight]);
    },
  };
}
