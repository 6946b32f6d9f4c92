import type { Store } from './store/types.js';

/**
 * Resolves when `topic` is notified, after `ms` at the latest, or when `signal` aborts. Waiters
 * look again at least this often because a wake-up from another coordinator may never arrive.
 */
export async function waitForWakeup(store: Store, topic: string, ms: number, signal?: AbortSignal): Promise<void> {
  const watch = watchTopic(store, topic);
  try {
    await watch.wait(ms, signal);
  } finally {
    watch.close();
  }
}

/** A subscription to one topic that keeps a notification until it is waited for. */
export interface TopicWatch {
  /**
   * Resolves at once when the topic was notified since the last wait (or since the watch
   * began); otherwise when it is notified, after `ms` at the latest, or when `signal` aborts.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Watches `topic` (or each of several topics) from now on, so that a waiter that looks, finds
 * nothing and then waits does not miss a notification sent while it was looking.
 */
export function watchTopic(store: Store, topic: string | readonly string[]): TopicWatch {
  let notified = false;
  let wake: (() => void) | null = null;
  const onNotify = () => {
    notified = true;
    wake?.();
  };
  const offs = (typeof topic === 'string' ? [topic] : topic).map((t) => store.subscribe(t, onNotify));
  const unsubscribe = () => {
    for (const off of offs) off();
  };
  return {
    wait(ms, signal) {
      if (notified || signal?.aborted) {
        notified = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = null;
          signal?.removeEventListener('abort', done);
          notified = false;
          resolve();
        };
        const timer = setTimeout(done, ms);
        wake = done;
        signal?.addEventListener('abort', done);
      });
    },
    close: unsubscribe,
  };
}
