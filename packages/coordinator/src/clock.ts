/**
 * The coordinator's one source of time. Stores, the scheduler, the sweepers and the routers
 * read the time through a `Clock` passed in, never through `Date.now()` or timers of their own,
 * so tests of lease expiry and sweeps move time by hand instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /**
   * Resolves after `ms` of this clock's time, or at once when `signal` aborts (never rejects).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock: `Date.now()` and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};

/**
 * The wall clock with sub-millisecond precision (`performance.timeOrigin + performance.now()`)
 * and real timers: the scheduler's default, whose times (a job's `readyAt` and `leasedAt`) are
 * subtracted to measure dispatch latency, most of it well under a millisecond
 * (`hiveforge_dispatch_latency_seconds`, bench/dispatch.mjs).
 */
export const preciseSystemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: systemClock.sleep,
};

/** A clock that moves only when told to, for tests. */
export interface ManualClock extends Clock {
  /** Moves the time forward by `ms` and wakes every sleeper whose time has come, in order. */
  advance(ms: number): Promise<void>;
  /** Sets the time (never backwards) and wakes sleepers as `advance` does. */
  set(epochMs: number): Promise<void>;
}

/**
 * Creates a manual clock starting at `startMs`.
 * @param startMs - the initial time. @default 0
 */
export function createManualClock(startMs = 0): ManualClock {
  let current = startMs;
  const sleepers: { at: number; wake: () => void }[] = [];
  const clock: ManualClock = {
    now: () => current,
    sleep(ms, signal) {
      return new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const entry = { at: current + Math.max(0, ms), wake: () => resolve() };
        sleepers.push(entry);
        signal?.addEventListener(
          'abort',
          () => {
            const index = sleepers.indexOf(entry);
            if (index >= 0) sleepers.splice(index, 1);
            resolve();
          },
          { once: true },
        );
      });
    },
    advance: (ms) => clock.set(current + ms),
    async set(epochMs) {
      const target = Math.max(current, epochMs);
      for (;;) {
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers[0];
        if (!next || next.at > target) break;
        sleepers.shift();
        current = next.at;
        next.wake();
        // Let the woken sleeper run before the clock moves on.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      current = target;
    },
  };
  return clock;
}
