import { describe, expect, it } from 'vitest';
import { describeStoreContract, makeJob } from './contract.js';
import { createMemoryStore } from './memory.js';

describeStoreContract('memory', () => createMemoryStore());

describe('memory store dispatch order', () => {
  /** A small deterministic generator, so that a failure can be replayed. */
  const random = (seed: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  it('keeps queued jobs oldest first through thousands of leases, re-queues and out-of-order readiness', async () => {
    const store = createMemoryStore();
    const next = random(7);
    const jobs = Array.from({ length: 3_000 }, (_, i) =>
      makeJob('run-1', `j${i}`, { state: 'queued', readyAt: Math.floor(next() * 500) }),
    );
    await store.insertJobs(jobs);
    const expected = new Map(jobs.map((j) => [j._id, j.readyAt as number]));
    const reference = (limit: number) =>
      [...expected]
        .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([id]) => id);
    for (let step = 0; step < 4_000; step++) {
      const roll = next();
      const oldest = await store.findQueuedJobs(6);
      if (roll < 0.7 && oldest.length > 0) {
        // Lease one of the oldest few, as pulls do.
        const job = oldest[Math.floor(next() * oldest.length)] as (typeof oldest)[number];
        expect(await store.updateJob(job._id, { state: 'leased' }, { states: ['queued'] })).toBe(true);
        expected.delete(job._id);
      } else {
        // Re-queue a leased job, sometimes with an older readiness than jobs already queued.
        const leased = jobs.find((j) => !expected.has(j._id));
        if (!leased) continue;
        const readyAt = Math.floor(next() * 1_000);
        expect(await store.updateJob(leased._id, { state: 'queued', readyAt }, { states: ['leased'] })).toBe(true);
        expected.set(leased._id, readyAt);
      }
      if (step % 97 === 0) {
        expect((await store.findQueuedJobs(50)).map((j) => j._id)).toEqual(reference(50));
      }
    }
    expect((await store.findQueuedJobs(10_000)).map((j) => j._id)).toEqual(reference(10_000));
  });
});
