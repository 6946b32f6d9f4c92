import { describe, expect, it } from 'vitest';
import { createFreshReads } from './fresh-reads.js';

/** Reads whose answers the test gives, in the order they started. */
function controlledReads() {
  const started: { key: string; answer: (value: string) => void; fail: (error: Error) => void }[] = [];
  const read = (key: string) =>
    new Promise<string>((answer, fail) => {
      started.push({ key, answer, fail });
    });
  return { started, read };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('FreshReads', () => {
  it('callers that ask while a read is in flight share the next read, which starts after it', async () => {
    const { started, read } = controlledReads();
    const reads = createFreshReads(read);
    const first = reads.after('w');
    expect(started).toHaveLength(1);
    // Asked while the first is in flight: they must not get its answer (it started before them).
    const second = reads.after('w');
    const third = reads.after('w');
    expect(second).toBe(third);
    expect(started).toHaveLength(1);
    // Another key reads at once.
    const other = reads.after('x');
    expect(started.map((r) => r.key)).toEqual(['w', 'x']);

    started[0]?.answer('before');
    expect(await first).toBe('before');
    await tick();
    expect(started.map((r) => r.key)).toEqual(['w', 'x', 'w']);
    started[2]?.answer('after');
    expect(await second).toBe('after');
    expect(await third).toBe('after');
    started[1]?.answer('x1');
    expect(await other).toBe('x1');
    await tick();
    expect(reads.size).toBe(0);
    // Nothing in flight: a new caller reads at once.
    void reads.after('w');
    expect(started).toHaveLength(4);
  });

  it('a failed read fails only its callers; those waiting get the next read', async () => {
    const { started, read } = controlledReads();
    const reads = createFreshReads(read);
    const first = reads.after('w');
    const waiting = reads.after('w');
    started[0]?.fail(new Error('store down'));
    await expect(first).rejects.toThrow('store down');
    await tick();
    started[1]?.answer('fine');
    expect(await waiting).toBe('fine');
  });
});
