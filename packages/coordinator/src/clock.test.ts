import { describe, expect, it } from 'vitest';
import { createManualClock, systemClock } from './clock.js';

describe('createManualClock', () => {
  it('wakes sleepers in time order, each at its own time', async () => {
    const clock = createManualClock(1_000);
    const woke: [string, number][] = [];
    void clock.sleep(300).then(() => woke.push(['b', clock.now()]));
    void clock.sleep(100).then(() => woke.push(['a', clock.now()]));
    await clock.advance(200);
    expect(woke).toEqual([['a', 1_100]]);
    expect(clock.now()).toBe(1_200);
    await clock.advance(200);
    expect(woke).toEqual([
      ['a', 1_100],
      ['b', 1_300],
    ]);
    expect(clock.now()).toBe(1_400);
  });

  it('resolves an aborted sleep at once and never moves backwards', async () => {
    const clock = createManualClock(50);
    const controller = new AbortController();
    const slept = clock.sleep(10_000, controller.signal);
    controller.abort();
    await slept;
    await clock.set(10);
    expect(clock.now()).toBe(50);
  });
});

describe('systemClock', () => {
  it('sleeps about the time asked and stops early on abort', async () => {
    const started = Date.now();
    await systemClock.sleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5);
    const before = Date.now();
    await systemClock.sleep(5_000, controller.signal);
    expect(Date.now() - before).toBeLessThan(1_000);
  });
});
