import { describe, expect, it } from 'vitest';
import { createGroupCommit, type ItemOutcome } from './group-commit.js';

/** A write that records its groups and answers each item by `answer`, after `release()`. */
function recordingWrite(answer: (item: number) => ItemOutcome<string>) {
  const groups: number[][] = [];
  const releases: (() => void)[] = [];
  const write = async (items: number[]) => {
    groups.push(items);
    await new Promise<void>((resolve) => releases.push(resolve));
    return items.map(answer);
  };
  const release = async () => {
    // Let the calls made so far reach the queue, then finish the write on its way.
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { groups, write, release };
}

describe('group commit', () => {
  it('a call alone goes at once; calls made while it is on its way go together in the next write', async () => {
    const { groups, write, release } = recordingWrite((n) => ({ ok: true, value: `v${n}` }));
    const commit = createGroupCommit(write);
    const first = commit([1]);
    const second = commit([2, 3]);
    const third = commit([4]);
    expect(groups).toEqual([[1]]);
    await release();
    expect(await first).toEqual(['v1']);
    expect(groups).toEqual([[1], [2, 3, 4]]);
    await release();
    expect(await second).toEqual(['v2', 'v3']);
    expect(await third).toEqual(['v4']);
    expect(await commit([])).toEqual([]);
    expect(groups).toHaveLength(2);
  });

  it('a failed item fails only its own call; a failed write fails every call of its group', async () => {
    const { write, release } = recordingWrite((n) =>
      n === 3 ? { ok: false, error: new Error('item 3') } : { ok: true, value: `v${n}` },
    );
    const commit = createGroupCommit(write);
    const first = commit([1]);
    const second = commit([2, 3]).catch((error: unknown) => error);
    const third = commit([4]);
    await release();
    await release();
    expect(await first).toEqual(['v1']);
    expect(await second).toEqual(new Error('item 3'));
    expect(await third).toEqual(['v4']);

    let fail = true;
    const failing = createGroupCommit(async (items: number[]) => {
      if (fail) throw new Error('server gone');
      return items.map((n) => ({ ok: true as const, value: n }));
    });
    const calls = [failing([1]), failing([2])];
    await expect(calls[0]).rejects.toThrow('server gone');
    await expect(calls[1]).rejects.toThrow('server gone');
    fail = false;
    expect(await failing([5])).toEqual([5]);
  });

  it('a group holds at most maxItems items but never splits a call; a wrong outcome count fails the group', async () => {
    const { groups, write, release } = recordingWrite((n) => ({ ok: true, value: `v${n}` }));
    const commit = createGroupCommit(write, { maxItems: 3 });
    const calls = [commit([0]), commit([1, 2]), commit([3]), commit([4, 5, 6, 7]), commit([8])];
    for (let i = 0; i < 4; i++) await release();
    await Promise.all(calls);
    expect(groups).toEqual([[0], [1, 2, 3], [4, 5, 6, 7], [8]]);

    const short = createGroupCommit(async (items: number[]) =>
      items.slice(1).map(() => ({ ok: true as const, value: 1 })),
    );
    await expect(short([1, 2])).rejects.toThrow('returned 1 outcomes');
  });

  it('with lingerMs, a busy group waits for more calls before it writes; an idle one writes at once', async () => {
    const groups: number[][] = [];
    const commit = createGroupCommit(
      async (items: number[]) => {
        groups.push(items);
        return items.map((n) => ({ ok: true as const, value: n }));
      },
      { lingerMs: 30, busyWithinMs: 100 },
    );
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // Idle: at once (the write starts within the call), alone.
    const first = commit([1]);
    expect(groups).toEqual([[1]]);
    expect(await first).toEqual([1]);
    // Busy (a write just ended): calls a few milliseconds apart go together.
    const second = commit([2]);
    expect(groups).toEqual([[1]]);
    await sleep(5);
    const third = commit([3]);
    expect(groups).toEqual([[1]]);
    expect(await Promise.all([second, third])).toEqual([[2], [3]]);
    expect(groups).toEqual([[1], [2, 3]]);
    // Idle again once no write ended for busyWithinMs: at once.
    await sleep(150);
    const fourth = commit([4]);
    expect(groups).toEqual([[1], [2, 3], [4]]);
    expect(await fourth).toEqual([4]);
  });
});
