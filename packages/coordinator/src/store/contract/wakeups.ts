import { expect, it } from 'vitest';
import type { Store } from '../types.js';

/** The contract of wakeups, run inside `describeStoreContract` on the store it made for each test. */
export function describeWakeupsContract(storeOf: () => Store): void {
  it('reports how it delivers wake-ups', () => {
    const store = storeOf();
    expect(['local', 'polling', 'change-stream']).toContain(store.wakeupMode());
  });

  it('notifies subscribers of a topic until they unsubscribe', async () => {
    const store = storeOf();
    let calls = 0;
    const off = store.subscribe('queue', () => calls++);
    store.notify('queue');
    store.notify('other');
    off();
    store.notify('queue');
    expect(calls).toBe(1);
  });
}
