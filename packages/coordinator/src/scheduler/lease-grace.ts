/**
 * The lease sweeper's outage rule: leases are not declared lost because of a store outage.
 *
 * While the store is down, no agent can renew a lease: every heartbeat fails or waits. When the
 * store is back, every lease whose expiry fell in the outage looks expired, although its agent
 * is alive and renews it with its next heartbeat, a heartbeat interval later. Declaring them lost
 * then would start a second attempt of every running job.
 *
 * So a coordinator whose own sweep could not read the store (an error), or read it slowly (longer
 * than a heartbeat interval, time in which heartbeats could not land either), declares no lease
 * lost until the store has answered its sweeps for one whole lease TTL again. Agents that kept
 * heartbeating renew their leases in that time; the lease of an agent that died during the
 * outage is declared lost one lease TTL after the store is back.
 *
 * Each coordinator judges by its own sweeps, which run every sweep interval, so each sees any
 * outage longer than that. (A coordinator started after an outage saw none; nor does this cover
 * outages of more than `leaseTtl` that agents ride out longer than their retry budget: see
 * docs/operations.md.)
 */
export interface LeaseGrace {
  /** A sweep's read of expired leases failed at `at`. */
  failed(at: number): void;
  /**
   * A sweep's read of expired leases, sent at `askedAt`, answered at `answeredAt`: may the
   * leases it found be declared lost now?
   */
  allowsLoss(askedAt: number, answeredAt: number): boolean;
}

/** Options of {@link createLeaseGrace}. */
export interface LeaseGraceOptions {
  /** How long the store must have answered before leases may be lost again: the lease TTL. */
  graceMs: number;
  /** A read slower than this counts as trouble: the heartbeat interval. */
  stallMs: number;
}

/** Creates the outage rule of one coordinator's lease sweeper (see {@link LeaseGrace}). */
export function createLeaseGrace(options: LeaseGraceOptions): LeaseGrace {
  /** When the store last failed or stalled a sweep's read, as seen here. */
  let troubleAt = Number.NEGATIVE_INFINITY;
  return {
    failed(at) {
      troubleAt = Math.max(troubleAt, at);
    },
    allowsLoss(askedAt, answeredAt) {
      if (answeredAt - askedAt > options.stallMs) troubleAt = Math.max(troubleAt, answeredAt);
      return answeredAt - troubleAt >= options.graceMs;
    },
  };
}
