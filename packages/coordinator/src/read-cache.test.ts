import { describe, expect, it } from 'vitest';
import { createManualClock } from './clock.js';
import { createReadCache } from './read-cache.js';

describe('read cache', () => {
  it('keeps copies stamped with the clock, and touch renews the stamp without a new value', async () => {
    const clock = createManualClock(1_000);
    const cache = createReadCache({ clock });
    const value = { run: { _id: 'web/1', status: 'running' } };
    cache.put('run:web/1', value);
    value.run.status = 'failed';
    await clock.advance(500);
    const kept = cache.get<typeof value>('run:web/1');
    expect(kept).toEqual({ value: { run: { _id: 'web/1', status: 'running' } }, seenAt: 1_000 });
    (kept as { value: typeof value }).value.run.status = 'cancelled';
    expect(cache.get<typeof value>('run:web/1')?.value.run.status).toBe('running');
    expect(cache.touch('run:web/1')).toBe(true);
    expect(cache.get('run:web/1')?.seenAt).toBe(1_500);
    expect(cache.touch('run:web/2')).toBe(false);
    cache.delete('run:web/1');
    expect(cache.get('run:web/1')).toBeUndefined();
    expect({ entries: cache.entries, bytes: cache.bytes }).toEqual({ entries: 0, bytes: 0 });
  });

  it('is bounded by entries and by bytes: the least recently put or read go first', () => {
    const cache = createReadCache({ clock: createManualClock(), maxEntries: 3, maxBytes: 100 });
    for (const key of ['a', 'b', 'c']) cache.put(key, key);
    cache.get('a');
    cache.put('d', 'd');
    expect(['a', 'b', 'c', 'd'].filter((k) => cache.get(k))).toEqual(['a', 'c', 'd']);
    expect(cache.entries).toBe(3);
    // 'x' * 60 is 62 bytes of JSON: two such values do not fit in 100 bytes.
    cache.put('big1', 'x'.repeat(60));
    cache.put('big2', 'é'.repeat(30));
    expect(cache.get('big1')).toBeUndefined();
    expect(cache.get('big2')?.value).toBe('é'.repeat(30));
    expect(cache.bytes).toBeLessThanOrEqual(100);
    expect(cache.bytes).toBe(Buffer.byteLength(JSON.stringify('é'.repeat(30))));
    // A value larger than the whole cache is not kept, and does not push others out.
    cache.put('huge', 'y'.repeat(200));
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('big2')).toBeDefined();
  });
});
