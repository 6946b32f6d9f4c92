import { expect, it } from 'vitest';
import type { Store, JobRecord, QueuedJobsQuery } from '../types.js';
import { makeJob } from './fixtures.js';

/** The contract of jobs, run inside `describeStoreContract` on the store it made for each test. */
export function describeJobsContract(storeOf: () => Store): void {
  it('a job reads back exactly as it was inserted, from every read', async () => {
    const store = storeOf();
    const job = makeJob('p/1', 'a', { spec: { ...makeJob('p/1', 'a').spec, labels: ['linux'] } });
    await store.insertJobs([job]);
    expect(await store.getJob('p/1/a')).toEqual(job);
    expect(await store.listJobs('p/1')).toEqual([job]);
    expect(await store.findQueuedJobs(1)).toEqual([job]);
  });

  it('reports how it finds queued and leased jobs', () => {
    const store = storeOf();
    expect(['memory', 'indexed', 'hinted']).toContain(store.jobIndex());
  });

  it('what a caller holds cannot change what is stored', async () => {
    const store = storeOf();
    const inserted = makeJob('p/1', 'a');
    await store.insertJobs([inserted]);
    inserted.state = 'running';
    const job = await store.getJob('p/1/a');
    if (!job) throw new Error('missing');
    // A returned record is a copy or frozen: either way the stored one stays as it was.
    try {
      job.state = 'failed';
      job.outputs.x = 'y';
    } catch {}
    expect((await store.getJob('p/1/a'))?.state).toBe('queued');
    expect((await store.getJob('p/1/a'))?.outputs).toEqual({});
  });

  it('an insert of jobs with one stored already inserts none, unless told to keep those stored', async () => {
    const store = storeOf();
    await store.insertJobs([makeJob('p/1', 'a', { readyAt: 1 })]);
    await store.updateJob('p/1/a', { outputs: { kept: 'yes' } });
    const batch = [makeJob('p/1', 'a', { readyAt: 1 }), makeJob('p/1', 'b', { readyAt: 2 })];
    await expect(store.insertJobs(batch)).rejects.toMatchObject({ code: 'HF_CONFLICT' });
    expect(await store.getJob('p/1/b')).toBeNull();
    await expect(
      store.insertJobs([makeJob('p/1', 'c'), makeJob('p/1', 'c')], { keepExisting: true }),
    ).rejects.toMatchObject({ code: 'HF_CONFLICT' });
    expect(await store.getJob('p/1/c')).toBeNull();
    // Finishing an insert a process died in: the stored job stays as it is, the rest is added,
    // in order, and queued.
    await store.insertJobs(batch, { keepExisting: true });
    await store.insertJobs(batch, { keepExisting: true });
    expect((await store.listJobs('p/1')).map((j) => [j.name, j.outputs])).toEqual([
      ['a', { kept: 'yes' }],
      ['b', {}],
    ]);
    expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['a', 'b']);
  });

  it('a guarded update applies only while its guard holds', async () => {
    const store = storeOf();
    await store.insertJobs([makeJob('p/1', 'a')]);
    expect(await store.updateJob('p/1/a', { state: 'leased' }, { states: ['queued'], attempt: 1 })).toBe(true);
    expect(await store.updateJob('p/1/a', { state: 'leased', agentId: 'late' }, { states: ['queued'] })).toBe(false);
    expect(await store.updateJob('p/1/a', { state: 'running' }, { attempt: 2 })).toBe(false);
    const job = await store.getJob('p/1/a');
    expect(job?.state).toBe('leased');
    expect(job?.agentId).toBeNull();
  });

  it('queued jobs come oldest-ready first and leave the queue when leased', async () => {
    const store = storeOf();
    await store.insertJobs([
      makeJob('p/1', 'new', { readyAt: 30 }),
      makeJob('p/1', 'old', { readyAt: 10 }),
      makeJob('p/1', 'mid', { readyAt: 20 }),
    ]);
    expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['old', 'mid', 'new']);
    await store.updateJob('p/1/old', { state: 'leased' });
    expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['mid', 'new']);
    expect((await store.findQueuedJobs(1)).map((j) => j.name)).toEqual(['mid']);
  });

  it('queued jobs that `skip` names are passed over and do not count against the limit', async () => {
    const store = storeOf();
    await store.insertJobs([
      makeJob('p/1', 'a', { readyAt: 1 }),
      makeJob('p/1', 'b', { readyAt: 2 }),
      makeJob('p/1', 'c', { readyAt: 3 }),
      makeJob('p/1', 'd', { readyAt: 4 }),
    ]);
    const asked: string[] = [];
    const skip = (jobId: string, attempt: number) => {
      asked.push(`${jobId}#${attempt}`);
      return jobId === 'p/1/a' || jobId === 'p/1/c';
    };
    expect((await store.findQueuedJobs(2, { skip })).map((j) => j.name)).toEqual(['b', 'd']);
    expect(asked).toEqual(expect.arrayContaining(['p/1/a#1', 'p/1/c#1']));
    expect((await store.findQueuedJobs(1, { labels: [], skip: () => true })).map((j) => j.name)).toEqual([]);
    // Skipping is by attempt: the next attempt of a skipped one is not skipped.
    await store.updateJob('p/1/a', { attempt: 2 });
    const skipFirst = (jobId: string, attempt: number) => jobId === 'p/1/a' && attempt === 1;
    expect((await store.findQueuedJobs(1, { skip: skipFirst })).map((j) => `${j.name}#${j.attempt}`)).toEqual(['a#2']);
  });

  it('`spread` starts queued jobs at the n-th oldest eligible one, wrapping around (every store here honours the hint)', async () => {
    const store = storeOf();
    await store.insertJobs(['a', 'b', 'c', 'd'].map((name, i) => makeJob('p/1', name, { readyAt: i + 1 })));
    const names = async (limit: number, query: QueuedJobsQuery) =>
      (await store.findQueuedJobs(limit, query)).map((j) => j.name);
    expect(await names(2, { spread: 1 })).toEqual(['b', 'c']);
    expect(await names(4, { spread: 2 })).toEqual(['c', 'd', 'a', 'b']);
    // Counted among the eligible jobs only, modulo their number.
    expect(await names(2, { spread: 1, skip: (id) => id === 'p/1/a' })).toEqual(['c', 'd']);
    expect(await names(3, { spread: 5 })).toEqual(['b', 'c', 'd']);
    expect(await names(1, { spread: 7, skip: (id) => id !== 'p/1/c' })).toEqual(['c']);
  });

  it('queued jobs can be filtered by the labels an agent has', async () => {
    const store = storeOf();
    const labelled = (name: string, labels: string[], readyAt: number) => {
      const job = makeJob('p/1', name, { readyAt });
      return { ...job, spec: { ...job.spec, labels } };
    };
    await store.insertJobs([
      labelled('gpu', ['linux', 'gpu'], 1),
      labelled('any', [], 2),
      labelled('linux', ['linux'], 3),
      labelled('waiting', [], 0),
    ]);
    await store.updateJob('p/1/waiting', { state: 'waiting' });
    expect((await store.findQueuedJobs(10, { labels: ['linux'] })).map((j) => j.name)).toEqual(['any', 'linux']);
    expect((await store.findQueuedJobs(1, { labels: ['linux'] })).map((j) => j.name)).toEqual(['any']);
    expect((await store.findQueuedJobs(10, { labels: ['gpu', 'linux', 'arm'] })).map((j) => j.name)).toEqual([
      'gpu',
      'any',
      'linux',
    ]);
    expect((await store.findQueuedJobs(10, { labels: [] })).map((j) => j.name)).toEqual(['any']);
    // Back in the queue as the next attempt.
    await store.updateJob('p/1/waiting', { state: 'queued', readyAt: 0, attempt: 2 }, { states: ['waiting'] });
    expect((await store.findQueuedJobs(10, { labels: [] })).map((j) => `${j.name}#${j.attempt}`)).toEqual([
      'waiting#2',
      'any#1',
    ]);
  });

  it('a renewal extends the lease of the current attempt only, and changes nothing else', async () => {
    const store = storeOf();
    await store.insertJobs([
      makeJob('p/1', 'a', { state: 'running', agentId: 'ag', leaseExpiresAt: 100, startedAt: 5 }),
      makeJob('p/1', 'b', { state: 'queued' }),
    ]);
    expect(await store.renewLease('p/1/a', 1, 300)).toBe(true);
    expect(await store.renewLease('p/1/a', 1, 200)).toBe(true);
    // A read of the job may leave the renewals out; the lease queries see them.
    const read = (await store.getJob('p/1/a')) as JobRecord;
    expect(read).toMatchObject({ state: 'running', startedAt: 5, agentId: 'ag' });
    expect([100, 300]).toContain(read.leaseExpiresAt);
    expect((await store.listJobs('p/1')).find((j) => j.name === 'a')?.leaseExpiresAt).toBe(300);
    expect(await store.findExpiredLeases(250, 10)).toEqual([]);
    expect((await store.findExpiredLeases(350, 10)).map((j) => [j.name, j.leaseExpiresAt])).toEqual([['a', 300]]);
    expect((await store.findJobsOfAgent('ag')).map((j) => j.leaseExpiresAt)).toEqual([300]);
    // Not the current attempt, not leased or running, or no such job: refused.
    expect(await store.renewLease('p/1/a', 2, 400)).toBe(false);
    expect(await store.renewLease('p/1/b', 1, 400)).toBe(false);
    expect(await store.renewLease('p/1/none', 1, 400)).toBe(false);
    expect((await store.getJob('p/1/b'))?.leaseExpiresAt).toBeNull();
    // The attempt ends: its renewals are over, and the next attempt starts afresh.
    const retry = { state: 'queued', attempt: 2, agentId: null, leaseExpiresAt: null } as const;
    expect(await store.updateJob('p/1/a', retry, { attempt: 1 })).toBe(true);
    expect(await store.renewLease('p/1/a', 1, 500)).toBe(false);
    expect(await store.getJob('p/1/a')).toMatchObject({ state: 'queued', attempt: 2, leaseExpiresAt: null });
    const lease = { state: 'leased', agentId: 'ag', leaseExpiresAt: 150 } as const;
    expect(await store.updateJob('p/1/a', lease, { states: ['queued'], attempt: 2 })).toBe(true);
    expect((await store.getJob('p/1/a'))?.leaseExpiresAt).toBe(150);
    expect((await store.findExpiredLeases(250, 10)).map((j) => [j.name, j.attempt])).toEqual([['a', 2]]);
  });

  it('a job leased, running, then retried moves between the queue and the active leases', async () => {
    const store = storeOf();
    await store.insertJobs([makeJob('p/1', 'a', { readyAt: 5 })]);
    const lease = { state: 'leased', agentId: 'ag', leasedAt: 6, leaseExpiresAt: 100 } as const;
    expect(await store.updateJob('p/1/a', lease, { states: ['queued'], attempt: 1 })).toBe(true);
    expect(await store.findQueuedJobs(10)).toEqual([]);
    expect(await store.updateJob('p/1/a', { state: 'running', startedAt: 7 }, { states: ['leased'], attempt: 1 })).toBe(
      true,
    );
    expect(await store.updateJob('p/1/a', { leaseExpiresAt: 200 }, { states: ['leased', 'running'], attempt: 1 })).toBe(
      true,
    );
    expect((await store.findJobsOfAgent('ag')).map((j) => j.state)).toEqual(['running']);
    expect(await store.findExpiredLeases(150, 10)).toEqual([]);
    expect((await store.findExpiredLeases(250, 10)).map((j) => j.leaseExpiresAt)).toEqual([200]);
    const retry = { state: 'queued', attempt: 2, readyAt: 9, agentId: null, leaseExpiresAt: null } as const;
    expect(await store.updateJob('p/1/a', retry, { states: ['leased', 'running'], attempt: 1 })).toBe(true);
    expect(await store.findExpiredLeases(250, 10)).toEqual([]);
    expect(await store.findJobsOfAgent('ag')).toEqual([]);
    expect((await store.findQueuedJobs(10)).map((j) => `${j.name}#${j.attempt}`)).toEqual(['a#2']);
    // A late writer of attempt 1 is refused.
    expect(await store.updateJob('p/1/a', { state: 'running' }, { states: ['leased'], attempt: 1 })).toBe(false);
    expect((await store.getJob('p/1/a'))?.state).toBe('queued');
  });

  it('finds expired leases of leased and running jobs only', async () => {
    const store = storeOf();
    await store.insertJobs([
      makeJob('p/1', 'expired', { state: 'running', leaseExpiresAt: 100, agentId: 'a' }),
      makeJob('p/1', 'fresh', { state: 'leased', leaseExpiresAt: 1_000, agentId: 'a' }),
      makeJob('p/1', 'done', { state: 'succeeded', leaseExpiresAt: 100 }),
    ]);
    expect((await store.findExpiredLeases(500, 10)).map((j) => j.name)).toEqual(['expired']);
    expect((await store.findJobsOfAgent('a')).map((j) => j.name).sort()).toEqual(['expired', 'fresh']);
  });

  it('counts queued jobs per set of required labels', async () => {
    const store = storeOf();
    const labelled = (name: string, labels: string[], state: JobRecord['state'] = 'queued') => {
      const job = makeJob('p/1', name, { state });
      return { ...job, spec: { ...job.spec, labels } };
    };
    expect(await store.countQueuedJobs()).toEqual([]);
    await store.insertJobs([
      labelled('a', []),
      labelled('b', ['linux', 'gpu']),
      labelled('c', ['gpu', 'linux']),
      labelled('d', ['linux']),
      labelled('e', []),
      labelled('f', []),
      labelled('waiting', ['linux'], 'waiting'),
      labelled('running', ['linux'], 'running'),
    ]);
    const counts = async () => (await store.countQueuedJobs()).map((d) => `${d.labels.join(',')}=${d.count}`).sort();
    expect(await counts()).toEqual(['=3', 'gpu,linux=2', 'linux=1']);
    await store.updateJob('p/1/d', { state: 'leased', agentId: 'ag' }, { states: ['queued'] });
    await store.updateJob('p/1/a', { state: 'cancelled' }, { states: ['queued'] });
    await store.updateJob('p/1/waiting', { state: 'queued' }, { states: ['waiting'] });
    expect(await counts()).toEqual(['=2', 'gpu,linux=2', 'linux=1']);
  });
}
