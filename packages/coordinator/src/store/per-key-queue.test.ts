import { describe, expect, it } from 'vitest';
import { createPerKeyQueue } from './per-key-queue.js';

/** A promise and the function that resolves it. */
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
};

describe('createPerKeyQueue', () => {
  it('runs tasks of one key in order, one at a time; other keys do not wait; a failure does not block', async () => {
    const queue = createPerKeyQueue();
    const log: string[] = [];
    const first = deferred();
    const a1 = queue.run('a', async () => {
      log.push('a1 start');
      await first.promise;
      log.push('a1 end');
      throw new Error('a1 failed');
    });
    const a2 = queue.run('a', async () => {
      log.push('a2');
      return 2;
    });
    const b1 = queue.run('b', async () => {
      log.push('b1');
      return 'b';
    });
    expect(await b1).toBe('b');
    expect(log).toEqual(['a1 start', 'b1']);
    let idle = false;
    const idleDone = queue.idle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    first.resolve();
    await expect(a1).rejects.toThrow('a1 failed');
    expect(await a2).toBe(2);
    await idleDone;
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });
});
