/** What became of one item of a group: its result, or the error that item failed with. */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Options of {@link createGroupCommit}. */
export interface GroupCommitOptions {
  /** At most this many items go in one write (a call's items are never split). @default 256 */
  maxItems?: number;
  /**
   * For writes nobody waits on (best effort, or a feed): while the group is busy, a call that
   * finds no write on its way waits this long for more calls before its write goes. "Busy" is
   * a write having ended less than `busyWithinMs` before. An idle group writes at once.
   * @default 0 (never waits)
   */
  lingerMs?: number;
  /** See `lingerMs`. @default 4 × lingerMs */
  busyWithinMs?: number;
}

/**
 * Group commit: calls made while the group's previous write is on its way to the server wait
 * for it, then go together in one write. A call made when none is on its way goes at once, so
 * an idle store pays no delay; a busy one pays one round trip for many calls instead of one
 * each (an `insertMany` of many documents costs a server little more than an `insertOne`).
 *
 * `write` gets the items of the calls of one group, in call order, and returns one outcome per
 * item. A call resolves with its items' values, or rejects with the error of its first failed
 * item; when `write` itself throws, every call of the group rejects with that error.
 */
export function createGroupCommit<T, R>(
  write: (items: T[]) => Promise<ItemOutcome<R>[]>,
  options: GroupCommitOptions = {},
): (items: readonly T[]) => Promise<R[]> {
  const maxItems = options.maxItems ?? 256;
  const lingerMs = options.lingerMs ?? 0;
  const busyWithinMs = options.busyWithinMs ?? 4 * lingerMs;
  /** When the last write ended (performance.now()); -Infinity before the first. */
  let lastWriteEnded = Number.NEGATIVE_INFINITY;
  let lingering: ReturnType<typeof setTimeout> | null = null;
  interface Waiting {
    items: readonly T[];
    resolve(values: R[]): void;
    reject(error: unknown): void;
  }
  let queue: Waiting[] = [];
  let writing = false;

  const settle = (group: readonly Waiting[], outcomes: readonly ItemOutcome<R>[]) => {
    let at = 0;
    for (const call of group) {
      const mine = outcomes.slice(at, at + call.items.length);
      at += call.items.length;
      const failed = mine.find((outcome) => !outcome.ok);
      if (failed && !failed.ok) call.reject(failed.error);
      else call.resolve(mine.map((outcome) => (outcome as { value: R }).value));
    }
  };

  const next = async () => {
    if (writing || lingering || queue.length === 0) return;
    writing = true;
    let count = 0;
    let take = 0;
    while (take < queue.length && (take === 0 || count + (queue[take] as Waiting).items.length <= maxItems)) {
      count += (queue[take] as Waiting).items.length;
      take++;
    }
    const group = queue.slice(0, take);
    queue = queue.slice(take);
    try {
      const outcomes = await write(group.flatMap((call) => call.items));
      if (outcomes.length !== count)
        throw new Error(`a group write of ${count} items returned ${outcomes.length} outcomes`);
      settle(group, outcomes);
    } catch (error) {
      for (const call of group) call.reject(error);
    } finally {
      writing = false;
      lastWriteEnded = performance.now();
      void next();
    }
  };

  /** Starts a write for calls just queued: at once, or after `lingerMs` while busy. */
  const start = () => {
    if (writing || lingering) return;
    if (lingerMs > 0 && performance.now() - lastWriteEnded < busyWithinMs) {
      lingering = setTimeout(() => {
        lingering = null;
        void next();
      }, lingerMs);
      return;
    }
    void next();
  };

  return (items) => {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      queue.push({ items, resolve, reject });
      start();
    });
  };
}
