import { remember } from './bounded-map.js';

/**
 * Leases that show a run goes on, in this coordinator's order of events.
 *
 * A queued attempt leaves the queue only by its lease decision (a lease, or a cancellation
 * decided in its place), so a pull that wins that decision knows its job was unfinished when the
 * decision was inserted. A lease won by a decision that started after a mark therefore shows
 * that the run was unfinished after that mark: a completion whose job was updated before the
 * mark need not read its run's witness (see `stillBlocked` in dag.ts).
 *
 * Marks are a counter, not a clock: only their order matters, within one process.
 */
export class RunProgress {
  private clock = 0;
  /** For each run, the mark taken before the latest lease decision won for one of its jobs. */
  private readonly leases = new Map<string, number>();

  /** @param limit How many runs are remembered (the least recently leased is forgotten first). */
  constructor(private readonly limit = 1_024) {}

  /** A point in this coordinator's order of events, later than every mark before it. */
  mark(): number {
    return ++this.clock;
  }

  /** A pull won the lease decision of a job of `runId`; `mark` was taken before it was inserted. */
  leased(runId: string, mark: number): void {
    remember(this.leases, runId, this.limit, Math.max(mark, this.leases.get(runId) ?? 0));
  }

  /** Whether a lease decision of a job of `runId` that started after `mark` was won. */
  leasedSince(runId: string, mark: number): boolean {
    return (this.leases.get(runId) ?? 0) > mark;
  }
}
