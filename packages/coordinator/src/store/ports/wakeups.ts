/** How a store delivers wake-ups between processes. */
export type WakeupMode = 'local' | 'polling' | 'change-stream';

/** Wake-ups: hints to waiters, in this process and others. */
export interface WakeupStore {
  /** How wake-ups reach other processes: `local` (one process only), `polling` or `change-stream`. */
  wakeupMode(): WakeupMode;

  /**
   * Wakes those waiting on `topic`: in this process at once, and in others where the adapter
   * can. With `within`, waiters in other processes may hear of it up to that many milliseconds
   * later, which lets an adapter write a busy topic less often (a run's topic, notified for
   * every lease and completion, is watched by people, not by dispatch).
   */
  notify(topic: string, options?: { within?: number }): void;
  /** Calls `listener` when `topic` is notified; returns the unsubscribe function. */
  subscribe(topic: string, listener: () => void): () => void;
}
