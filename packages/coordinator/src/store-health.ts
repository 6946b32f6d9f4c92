import { ErrorCodes, StoreUnavailableError, isHiveForgeError } from '@hiveforge/sdk';
import { storeUnavailableOf } from './store/mongodb/driver-errors.js';

/**
 * Whether this coordinator's store answers, as a background ping sees it: what lets reads fail
 * at once with `HF_STORE_UNAVAILABLE` during a store outage instead of each waiting for the
 * driver's server selection (30 s), and what `/readyz` could not tell a request already waiting.
 */
export interface StoreHealth {
  /** True while the store is out: its last ping failed, or one has waited past `outAfterMs`. */
  readonly out: boolean;
  /**
   * Since when the store is out (when the ping that found it out was sent), or null while it
   * answers.
   */
  readonly outSince: number | null;
  /**
   * Tells that a store call failed because the store is out (a closed connection): the store
   * counts as out from now until a ping answers, so that the reads after it fail at once
   * instead of each waiting for the next ping to find it out.
   */
  sawOut(): void;
  /** Resolves when the store is found out (at once if it is); `signal` ends the wait unresolved. */
  whenOut(signal?: AbortSignal): Promise<void>;
  /** Stops pinging. */
  close(): void;
}

/** Options of {@link createStoreHealth}. */
export interface StoreHealthOptions {
  /** One round trip to the store (its `ping`). */
  ping: () => Promise<unknown>;
  /** How often the store is pinged. @default 1000 */
  intervalMs?: number;
  /**
   * How long a ping may wait before the store counts as out. Long enough that a busy store is
   * not taken for a gone one. @default 3000
   */
  outAfterMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Creates a store health check: one ping every `intervalMs` (never two at once), on an unref'd
 * timer. A ping that fails, or has waited `outAfterMs`, makes the store `out`; the next ping that
 * answers makes it in again.
 * @example
 * const health = createStoreHealth({ ping: () => store.ping() });
 * if (health.out) throw new StoreUnavailableError('the store does not answer');
 */
export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 1_000;
  const outAfterMs = options.outAfterMs ?? 3_000;
  let out = false;
  let outSince: number | null = null;
  let pingSentAt: number | null = null;
  let waiters: (() => void)[] = [];

  const setOut = (value: boolean, since = now()) => {
    if (value && !out) outSince = since;
    if (!value) outSince = null;
    out = value;
    if (!value) return;
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  };

  const tick = () => {
    if (pingSentAt !== null) {
      // Unanswered since it was sent: the store is out since then.
      if (now() - pingSentAt >= outAfterMs) setOut(true, pingSentAt);
      return;
    }
    const sentAt = now();
    pingSentAt = sentAt;
    options.ping().then(
      () => {
        pingSentAt = null;
        setOut(false);
      },
      () => {
        pingSentAt = null;
        setOut(true, sentAt);
      },
    );
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();

  return {
    get out() {
      return out;
    },
    get outSince() {
      return outSince;
    },
    sawOut() {
      setOut(true);
    },
    whenOut(signal) {
      if (out) return Promise.resolve();
      return new Promise<void>((resolve) => {
        if (signal?.aborted) return;
        const wake = () => {
          signal?.removeEventListener('abort', forget);
          resolve();
        };
        const forget = () => {
          waiters = waiters.filter((w) => w !== wake);
        };
        waiters.push(wake);
        signal?.addEventListener('abort', forget, { once: true });
      });
    },
    close() {
      clearInterval(timer);
      setOut(false);
      waiters = [];
    },
  };
}

/** True when `error` says the store is out (`HF_STORE_UNAVAILABLE`, or a raw driver error meaning it), not a refusal of the request. */
export function isStoreOut(error: unknown): boolean {
  const hf = isHiveForgeError(error) ? error : storeUnavailableOf(error);
  return hf?.code === ErrorCodes.storeUnavailable;
}

/** The error of work refused, or given up, because the store is out. */
export const storeOutError = () =>
  new StoreUnavailableError('the store does not answer: this coordinator cannot read it now; try again shortly');

/**
 * Runs `work` that needs the store, unless the store is out: then it fails at once with
 * `HF_STORE_UNAVAILABLE` (a `StoreUnavailableError`), and work under way fails so as soon as the
 * store is found out, instead of waiting for the store driver's own timeout (30 s); work that
 * fails because the store is out makes it out at once (see `StoreHealth.sawOut`). Without
 * `health`, `work` just runs. (Not for agents' calls: the race costs each call an abort signal.)
 * @example
 * const run = await whileStoreAnswers(health, () => store.getRun(runId));
 */
export async function whileStoreAnswers<T>(health: StoreHealth | undefined, work: () => Promise<T>): Promise<T> {
  if (!health) return work();
  if (health.out) throw storeOutError();
  const stop = new AbortController();
  const gone = Symbol('store out');
  try {
    const found = await Promise.race([work(), health.whenOut(stop.signal).then(() => gone)]);
    if (found === gone) throw storeOutError();
    return found as T;
  } catch (error) {
    // Found out by this work first: the reads after it need not wait for a ping to see it.
    if (!health.out && isStoreOut(error)) health.sawOut();
    throw error;
  } finally {
    stop.abort();
  }
}
