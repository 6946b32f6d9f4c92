import type { JobRecord } from './types.js';

/** Where a queued job stands in the dispatch order: oldest ready first, then by id. */
export interface QueueKey {
  readyAt: number;
  id: string;
  /** Removed, but kept in place until compacted: removals are mostly among the oldest. */
  removed?: boolean;
}

/** Orders ids as MongoDB orders strings: by code unit, not by locale. */
export const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const compareKeys = (a: QueueKey, b: QueueKey) => a.readyAt - b.readyAt || compareIds(a.id, b.id);

/**
 * The queued jobs kept in dispatch order, so that a pull reads the oldest few without sorting
 * and a lease removes its job without shifting the queue behind it.
 */
export class DispatchOrder {
  private keys: QueueKey[] = [];
  /** Keys before `head` are all removed. */
  private head = 0;
  /** Removed keys at or after `head`. */
  private removed = 0;

  /** The index of the first key not before `key`. */
  private seek(key: QueueKey): number {
    let lo = this.head;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid] as QueueKey, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(key: QueueKey): void {
    const fresh = { readyAt: key.readyAt, id: key.id };
    // Jobs mostly become ready in time order: appending is the common case.
    const last = this.keys.at(-1);
    if (!last || compareKeys(last, fresh) < 0) {
      this.keys.push(fresh);
      return;
    }
    const at = this.seek(fresh);
    const found = this.keys[at];
    if (found && compareKeys(found, fresh) === 0) {
      if (found.removed) {
        found.removed = false;
        this.removed--;
      }
      return;
    }
    this.keys.splice(at, 0, fresh);
  }

  remove(key: QueueKey): void {
    const at = this.seek(key);
    const found = this.keys[at];
    if (!found || found.removed || compareKeys(found, key) !== 0) return;
    found.removed = true;
    this.removed++;
    while (this.head < this.keys.length && (this.keys[this.head] as QueueKey).removed) {
      this.head++;
      this.removed--;
    }
    const live = this.keys.length - this.head - this.removed;
    if (this.head + this.removed > 1024 && this.head + this.removed > live) {
      this.keys = this.keys.slice(this.head).filter((k) => !k.removed);
      this.head = 0;
      this.removed = 0;
    }
  }

  *ids(): IterableIterator<string> {
    for (let i = this.head; i < this.keys.length; i++) {
      const key = this.keys[i] as QueueKey;
      if (!key.removed) yield key.id;
    }
  }
}

/** Where a job stands in the dispatch order. */
export const queueKey = (job: JobRecord): QueueKey => ({ readyAt: job.readyAt ?? 0, id: job._id });
