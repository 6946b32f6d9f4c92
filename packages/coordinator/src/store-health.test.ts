import { describe, expect, it } from 'vitest';
import { createStoreHealth, whileStoreAnswers } from './store-health.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('store health', () => {
  it('finds the store out when a ping fails or waits too long, and in again when one answers', async () => {
    let mode: 'up' | 'down' | 'hang' = 'up';
    const health = createStoreHealth({
      intervalMs: 10,
      outAfterMs: 50,
      ping: () =>
        mode === 'up'
          ? Promise.resolve()
          : mode === 'down'
            ? Promise.reject(new Error('refused'))
            : new Promise((resolve) => {
                const wait = setInterval(() => {
                  if (mode !== 'hang') {
                    clearInterval(wait);
                    resolve(undefined);
                  }
                }, 5);
              }),
    });
    try {
      await sleep(30);
      expect(health.out).toBe(false);
      mode = 'down';
      await health.whenOut();
      expect(health.out).toBe(true);
      mode = 'up';
      await sleep(40);
      expect(health.out).toBe(false);
      // A ping that hangs: out once it has waited 50 ms, and a wait under way is woken.
      const woken = health.whenOut();
      mode = 'hang';
      const at = Date.now();
      await woken;
      expect(Date.now() - at).toBeLessThan(500);
      expect(health.out).toBe(true);
      mode = 'up';
      await sleep(40);
      expect(health.out).toBe(false);
    } finally {
      health.close();
    }
  });

  it('a wait whose signal aborts is forgotten', async () => {
    const health = createStoreHealth({ intervalMs: 10, ping: () => Promise.resolve() });
    const stop = new AbortController();
    let woken = false;
    void health.whenOut(stop.signal).then(() => (woken = true));
    stop.abort();
    await sleep(30);
    expect(woken).toBe(false);
    health.close();
  });
});

describe('whileStoreAnswers', () => {
  it('refuses work at once while the store is out, and gives up work under way when the store is found out', async () => {
    let up = true;
    const health = createStoreHealth({
      intervalMs: 10,
      outAfterMs: 1_000,
      ping: () => (up ? Promise.resolve() : Promise.reject(new Error('refused'))),
    });
    try {
      expect(await whileStoreAnswers(health, async () => 'read')).toBe('read');
      // A read waiting on a store that goes away answers HF_STORE_UNAVAILABLE when it is found out.
      const waiting = whileStoreAnswers(health, () => new Promise(() => {}));
      up = false;
      await expect(waiting).rejects.toMatchObject({ code: 'HF_STORE_UNAVAILABLE', retryable: true });
      const at = Date.now();
      await expect(whileStoreAnswers(health, async () => 'read')).rejects.toMatchObject({
        code: 'HF_STORE_UNAVAILABLE',
      });
      expect(Date.now() - at).toBeLessThan(50);
    } finally {
      health.close();
    }
  });
});
