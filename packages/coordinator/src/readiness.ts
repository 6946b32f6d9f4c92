import type { Store } from './store/types.js';

/** How long checks share one unsettled ping before they send another. */
const REPING_AFTER_MS = 5_000;

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  store: Store;
  /**
   * How long a check waits for the store's `ping`; past that the coordinator is not ready.
   * Below a second, so that `/readyz` answers within one whatever the store does.
   * @default 750
   */
  timeoutMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** What a readiness check found: ready, or not with a short reason (no addresses, no secrets). */
export type ReadinessResult = { ready: true } | { ready: false; reason: string };

/** Answers whether this coordinator can serve requests now (for `/readyz`). */
export interface Readiness {
  check(): Promise<ReadinessResult>;
  /** When the checks started answering "not ready" (the first since the last "ready"); null while ready. */
  readonly notReadySince: number | null;
}

/**
 * Creates the readiness check of `/readyz`: the coordinator is ready when its store answers a
 * `ping` within `timeoutMs`. A check never waits longer: during a store outage a ping can wait
 * for the driver's server selection (30 s by default), so the check answers "not ready" at its
 * deadline and leaves the ping running. Checks made while a ping is on its way share it (for up
 * to 5 s), so a load balancer polling a coordinator whose store is gone does not pile up pings.
 */
export function createReadiness(options: ReadinessOptions): Readiness {
  const timeoutMs = options.timeoutMs ?? 750;
  const now = options.now ?? Date.now;
  let notReadySince: number | null = null;
  let inflight: Promise<ReadinessResult> | null = null;
  let sentAt = 0;
  const ping = (): Promise<ReadinessResult> => {
    // A ping that has not settled for a while is left behind (a store's ping settles, but a
    // check must not depend on it): at most one new ping every `REPING_AFTER_MS`.
    if (inflight && Date.now() - sentAt < REPING_AFTER_MS) return inflight;
    sentAt = Date.now();
    const sent: Promise<ReadinessResult> = options.store
      .ping()
      .then(
        (): ReadinessResult => ({ ready: true }),
        (error: unknown): ReadinessResult => ({
          ready: false,
          reason: `store unreachable (${(error as { code?: unknown })?.code ?? (error as Error)?.name ?? 'error'})`,
        }),
      )
      .finally(() => {
        if (inflight === sent) inflight = null;
      });
    inflight = sent;
    return sent;
  };
  return {
    async check() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<ReadinessResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ready: false, reason: `store did not answer a ping within ${timeoutMs} ms` }),
          timeoutMs,
        );
      });
      try {
        const result = await Promise.race([ping(), late]);
        notReadySince = result.ready ? null : (notReadySince ?? now());
        return result;
      } finally {
        clearTimeout(timer);
      }
    },
    get notReadySince() {
      return notReadySince;
    },
  };
}
