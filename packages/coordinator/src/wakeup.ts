import type { Store } from './store/types.js';

/**
 * Resolves when `topic` is notified, after `ms` at the latest, or when `signal` aborts. Waiters
 * look again at least this often because a wake-up from another coordinator may never arrive.
 */
export function waitForWakeup(store: Store, topic: string, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const unsubscribe = store.subscribe(topic, done);
    if (signal?.aborted) done();
    else signal?.addEventListener('abort', done);
  });
}
