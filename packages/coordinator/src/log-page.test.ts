import { describe, expect, it } from 'vitest';
import { readLogPage } from './log-page.js';
import { makeJob, makeLogChunk } from './store/contract.js';
import { createMemoryStore } from './store/memory.js';
import { type JobRecord, JobState } from './store/types.js';

/** A job with two attempts' logs: attempt 1 has chunks 0..3, attempt 2 chunks 0..1, 100 KiB each. */
async function setUp(job: Partial<JobRecord>) {
  const store = createMemoryStore();
  const record = makeJob('r', 'j', job);
  const text = (attempt: number, seq: number) => `${attempt}.${seq}:${'x'.repeat(100 * 1024 - 4)}`;
  await store.appendLogChunks([
    ...[0, 1, 2, 3].map((seq) => ({ ...makeLogChunk(record._id, seq, text(1, seq)) })),
    ...[0, 1].map((seq) => ({
      ...makeLogChunk(record._id, seq, text(2, seq)),
      _id: `${record._id}#2#${seq}`,
      attempt: 2,
    })),
  ]);
  return { store, job: record };
}

const seqs = (page: { chunks: { attempt: number; seq: number }[] }) => page.chunks.map((c) => `${c.attempt}.${c.seq}`);

describe('readLogPage', () => {
  it('pages never pass maxBytes, and the last page of an ended job says the log is complete', async () => {
    const { store, job } = await setUp({ state: JobState.succeeded, attempt: 2 });
    const first = await readLogPage(store, job, { maxBytes: 250 * 1024 });
    expect([seqs(first), first.next, first.complete]).toEqual([['1.0', '1.1'], '1:1', false]);
    const second = await readLogPage(store, job, { maxBytes: 250 * 1024, cursor: { attempt: 1, seq: 1 } });
    expect([seqs(second), second.next, second.complete]).toEqual([['1.2', '1.3'], '1:3', false]);
    const third = await readLogPage(store, job, { maxBytes: 250 * 1024, cursor: { attempt: 1, seq: 3 } });
    expect([seqs(third), third.next, third.complete]).toEqual([['2.0', '2.1'], '2:1', true]);
    // Past the end: nothing, the same cursor, complete.
    const past = await readLogPage(store, job, { maxBytes: 250 * 1024, cursor: { attempt: 2, seq: 1 } });
    expect([seqs(past), past.next, past.complete]).toEqual([[], '2:1', true]);
  });

  it('one attempt: its chunks only, complete once the job moved past it', async () => {
    const { store, job } = await setUp({ state: JobState.running, attempt: 2 });
    const first = await readLogPage(store, job, { maxBytes: 4 * 1024 * 1024, attempt: 1 });
    expect([seqs(first), first.complete]).toEqual([['1.0', '1.1', '1.2', '1.3'], true]);
    // A cursor before the attempt starts at the attempt.
    const second = await readLogPage(store, job, {
      maxBytes: 4 * 1024 * 1024,
      attempt: 2,
      cursor: { attempt: 1, seq: 0 },
    });
    expect([seqs(second), second.complete]).toEqual([['2.0', '2.1'], false]);
  });

  it('a running job is never complete, even at the end of what it shipped', async () => {
    const { store, job } = await setUp({ state: JobState.running, attempt: 2 });
    const page = await readLogPage(store, job, { maxBytes: 4 * 1024 * 1024 });
    expect([page.chunks.length, page.complete]).toEqual([6, false]);
  });
});
