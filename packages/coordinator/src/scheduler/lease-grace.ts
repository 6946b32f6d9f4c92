import type { Clock } from '../clock.js';

/**
 * The lease sweeper's outage rule: leases are not declared lost because of a store outage.
 *
 * While the store is down, no agent can renew a lease: every heartbeat fails or waits. When the
 * store is back, every lease whose expiry fell in the outage looks expired, although its agent
 * is alive and renews it with its next heartbeat. Declaring them lost then would start a second
 * attempt of every running job.
 *
 * So a coordinator whose sweeps saw the store fail, or answer slowly (a call, or a whole sweep,
 * slower than `stallMs`: heartbeats could not land in time either), declares no lease lost until
 * the store has answered its sweeps for one whole lease TTL again. Agents that kept heartbeating renew
 * their leases in that time; the lease of an agent that died during the outage is declared lost
 * one lease TTL after the store is back.
 *
 * The same holds for a lease decided but never recorded on its job (its pull failed with the
 * store): a pull that finds it older than a lease TTL declares it lost only when the store has
 * answered for a lease TTL, so that the agent's resent pull can still pick it up.
 *
 * Each coordinator judges by the store calls of its own sweeps, which run every sweep interval,
 * so each sees any outage longer than that. What it does not cover: a coordinator started after
 * an outage saw none.
 *
 * The rule holds for outages up to the store outage limit (`--store-outage-limit`, 2 min by
 * default), the time agents keep a job's calls going without a store: past it they have given
 * their jobs up, and once the store is back the leases that expired meanwhile are declared lost
 * at the first sweep, as without the rule (see docs/operations.md, "Store outages").
 */
export interface LeaseGrace {
  /**
   * The store as the sweeper uses it: its calls that fail, or answer later than `stallMs`,
   * count as trouble. (Not for hot paths: each call is timed.)
   */
  watch<S extends object>(store: S): S;
  /**
   * Runs one sweep: one that fails, or takes longer than `stallMs` (it waited on a store call
   * made elsewhere, a resolution under way), counts as trouble too.
   */
  observe<T>(sweep: () => Promise<T>): Promise<T>;
  /**
   * Whether leases may be declared lost at `at`: the store has answered without trouble for the
   * whole grace period before it, or the last outage outlasted the outage limit.
   */
  settled(at: number): boolean;
}

/** The longest store outage that loses no lease, by default: 2 minutes. */
export const DEFAULT_STORE_OUTAGE_LIMIT_MS = 120_000;

/** Options of {@link createLeaseGrace}. */
export interface LeaseGraceOptions {
  /** How long the store must have answered before leases may be lost again: the lease TTL. */
  graceMs: number;
  /** A store call slower than this counts as trouble. */
  stallMs: number;
  /**
   * The longest outage (from the first trouble to the last) the grace covers; after a longer one
   * leases are lost as soon as the store answers. @default DEFAULT_STORE_OUTAGE_LIMIT_MS (2 min)
   */
  outageLimitMs?: number;
  /** The scheduler's clock: when calls and sweeps start and end (see `Clock`). */
  clock: Clock;
}

/**
 * How slow a store call must be to count as trouble, for a lease TTL and heartbeat interval:
 * half the time a lease has left for its renewal after a heartbeat interval, at least one
 * interval (2 s for the defaults, 6 s and 2 s).
 */
export const stallMsOf = (leaseTtlMs: number, heartbeatIntervalMs: number): number =>
  Math.max(heartbeatIntervalMs, (leaseTtlMs - heartbeatIntervalMs) / 2);

/** Creates the outage rule of one coordinator's lease sweeper (see {@link LeaseGrace}). */
export function createLeaseGrace(options: LeaseGraceOptions): LeaseGrace {
  const { clock } = options;
  const now = () => clock.now();
  const outageLimitMs = options.outageLimitMs ?? DEFAULT_STORE_OUTAGE_LIMIT_MS;
  /** When the store last failed or stalled a sweep's call, as seen here. */
  let troubleAt = Number.NEGATIVE_INFINITY;
  /** When the outage that `troubleAt` belongs to began: the call that first failed or stalled. */
  let troubleSince = Number.NEGATIVE_INFINITY;
  /** When the sweep under way started, if one is. */
  let sweepingSince: number | null = null;
  /** Trouble with a call made at `askedAt`: a new outage, unless the last one is not over. */
  const trouble = (askedAt: number) => {
    const at = now();
    if (askedAt - troubleAt >= options.graceMs) troubleSince = askedAt;
    troubleAt = Math.max(troubleAt, at);
  };
  const timed = (askedAt: number, result: unknown): unknown => {
    if (!(result instanceof Promise)) return result;
    return result.then(
      (value) => {
        if (now() - askedAt > options.stallMs) trouble(askedAt);
        return value;
      },
      (error: unknown) => {
        trouble(askedAt);
        throw error;
      },
    );
  };
  return {
    watch(store) {
      return new Proxy(store, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => timed(now(), Reflect.apply(value, target, args));
        },
      });
    },
    observe(sweep) {
      const startedAt = now();
      sweepingSince = startedAt;
      const done = () => {
        if (sweepingSince === startedAt) sweepingSince = null;
      };
      const result = timed(startedAt, sweep()) as ReturnType<typeof sweep>;
      return result.finally(done) as ReturnType<typeof sweep>;
    },
    settled(at) {
      // A sweep under way for longer than a stall is trouble already, before it ends.
      if (sweepingSince !== null && at - sweepingSince > options.stallMs) return false;
      if (at - troubleAt >= options.graceMs) return true;
      // Past the outage limit the agents gave their jobs up: the grace no longer holds.
      return troubleAt - troubleSince > outageLimitMs;
    },
  };
}
