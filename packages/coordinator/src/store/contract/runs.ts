import { expect, it } from 'vitest';
import type { Store } from '../types.js';
import { makeManualTrigger } from './fixtures.js';

/** The contract of runs, run inside `describeStoreContract` on the store it made for each test. */
export function describeRunsContract(storeOf: () => Store): void {
  it('runs list newest first, filter by pipeline and status, and count numbers per pipeline', async () => {
    const store = storeOf();
    const trigger = makeManualTrigger();
    for (const [i, pipeline] of ['a', 'a', 'b'].entries()) {
      await store.insertRun({
        _id: `${pipeline}/${i}`,
        pipeline,
        number: i + 1,
        versionId: 'v',
        trigger,
        status: i === 1 ? 'failed' : 'running',
        createdAt: i,
        finishedAt: null,
      });
    }
    expect((await store.listRuns({ limit: 10 })).map((r) => r._id)).toEqual(['b/2', 'a/1', 'a/0']);
    expect((await store.listRuns({ pipeline: 'a', limit: 10 })).map((r) => r._id)).toEqual(['a/1', 'a/0']);
    expect((await store.listRuns({ status: 'failed', limit: 10 })).map((r) => r._id)).toEqual(['a/1']);
    expect((await store.listRuns({ limit: 10, before: 2 })).map((r) => r._id)).toEqual(['a/1', 'a/0']);
    expect(await store.lastRunNumber('a')).toBe(2);
    expect(await store.lastRunNumber('none')).toBe(0);
  });
}
