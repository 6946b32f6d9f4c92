import type { CommandStartedEvent, Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { makeJob, makeJobSpec } from '../contract.js';
import type { Store } from '../types.js';
import { ferretStoreKit, sleep } from './test-kit.js';

const { ferretUri, freshDbName, adminOf, freshStore, withWatchedStore } = ferretStoreKit();

describe('job hints of the MongoDB store on FerretDB', () => {
  it('finds queued and active jobs through hints that readers keep honest', async () => {
    const dbName = freshDbName();
    const store = await freshStore(ferretUri(), { dbName });
    const db = adminOf(ferretUri()).db(dbName);
    const ready = db.collection<{ _id: string }>('ready_jobs');
    const active = db.collection<{ _id: string }>('active_jobs');
    // Live hints: on FerretDB a hint whose job moved on is marked `gone`, and purged later.
    const idsOf = async (c: typeof ready) =>
      (await c.find({ gone: { $ne: true } } as never).toArray()).map((h) => h._id).sort();
    try {
      await store.insertJobs([
        makeJob('p/1', 'a', { readyAt: 1 }),
        makeJob('p/1', 'b', { readyAt: 2 }),
        makeJob('p/1', 'c', { state: 'running', agentId: 'ag', leaseExpiresAt: 10 }),
        makeJob('p/1', 'd', { state: 'waiting', readyAt: null }),
      ]);
      expect(await idsOf(ready)).toEqual(['p/1/a#1', 'p/1/b#1']);
      expect(await idsOf(active)).toEqual(['p/1/c#1']);
      // A hint whose job moved on (a crash between the job's write and the hint's delete) is
      // skipped and deleted; one written just before its job's write (d is still waiting at
      // attempt 1) is skipped and kept.
      await store.updateJob('p/1/a', { state: 'leased', agentId: 'ag', leaseExpiresAt: 20 }, { states: ['queued'] });
      await ready.deleteMany({ _id: 'p/1/a#1' });
      await ready.insertOne({
        _id: 'p/1/a#1',
        jobId: 'p/1/a',
        attempt: 1,
        readyAt: 1,
        labels: [],
        at: Date.now(),
      } as never);
      await ready.insertOne({
        _id: 'p/1/d#1',
        jobId: 'p/1/d',
        attempt: 1,
        readyAt: 0,
        labels: [],
        at: Date.now(),
      } as never);
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['b']);
      expect(await idsOf(ready)).toEqual(['p/1/b#1', 'p/1/d#1']);
      // A hint lost altogether is found missing by listJobs, which puts it back.
      await ready.deleteOne({ _id: 'p/1/b#1' });
      await active.deleteOne({ _id: 'p/1/c#1' });
      expect(await store.findQueuedJobs(10)).toEqual([]);
      await store.listJobs('p/1');
      const deadline = Date.now() + 3_000;
      // (On FerretDB the repair looks the run's hints up by _id: see the next test.)
      while ((await idsOf(ready)).length + (await idsOf(active)).length < 4 && Date.now() < deadline) await sleep(20);
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['b']);
      expect((await store.findExpiredLeases(50, 10)).map((j) => j.name).sort()).toEqual(['a', 'c']);
    } finally {
      await store.close();
    }
  });

  it('a ready hint is written with a copy of its queued job, which findQueuedJobs takes unread while the hint is young', async () => {
    const dbName = freshDbName();
    const store = await freshStore(ferretUri(), { dbName });
    const db = adminOf(ferretUri()).db(dbName);
    const ready = db.collection<{ _id: string; at: number; job?: { state: string; attempt: number } }>('ready_jobs');
    const jobs = db.collection<{ _id: string }>('jobs');
    const names = (list: readonly { name: string }[]) => list.map((j) => j.name);
    try {
      await store.insertJobs([
        makeJob('p/1', 'a', { readyAt: 1 }),
        makeJob('p/1', 'w', { state: 'waiting', readyAt: null }),
      ]);
      const hintOfA = await ready.findOne({ _id: 'p/1/a#1' });
      expect(hintOfA?.job).toMatchObject({ state: 'queued', attempt: 1 });
      // A job entering the queue gets its hint after its write, copying it as it now is.
      expect(await store.updateJob('p/1/w', { state: 'queued', readyAt: 5 }, { states: ['waiting'] })).toBe(true);
      expect((await ready.findOne({ _id: 'p/1/w#1' }))?.job).toMatchObject({ state: 'queued', readyAt: 5 });
      // Another coordinator leased a and died before retiring its hint: a pull still gets a, as
      // it was queued (its lease decision, taken already, turns that pull away).
      await jobs.updateOne({ _id: 'p/1/a' }, { $set: { state: 'leased', agentId: 'ag' } });
      const copies = await store.findQueuedJobs(10);
      expect(names(copies)).toEqual(['a', 'w']);
      expect(copies[0]).toMatchObject({ state: 'queued', attempt: 1, spec: makeJob('p/1', 'a').spec });
      // A copy older than a minute is not taken: its job is read, and the stale hint retired.
      await ready.deleteOne({ _id: 'p/1/a#1' });
      await ready.insertOne({ ...hintOfA, at: Date.now() - 61_000 } as never);
      expect(await ready.findOne({ _id: 'p/1/a#1' })).toMatchObject({ job: { state: 'queued' } });
      expect(names(await store.findQueuedJobs(10))).toEqual(['w']);
      expect(await ready.findOne({ _id: 'p/1/a#1', gone: { $ne: true } } as never)).toBeNull();
    } finally {
      await store.close();
    }
  });

  for (const retireHintsBy of ['delete', 'update'] as const)
    it(`a pull reads the oldest page of ready hints, all of them only when the page has too few it can take; retired hints leave (${retireHintsBy})`, async () => {
      const dbName = freshDbName();
      const store = await freshStore(ferretUri(), { dbName, retireHintsBy });
      const ready = adminOf(ferretUri()).db(dbName).collection<{ _id: string; gone?: boolean }>('ready_jobs');
      try {
        // 80 jobs only a GPU agent can run, became ready first; then 5 anyone can run.
        const gpu = Array.from({ length: 80 }, (_, i) =>
          makeJob('p/2', `g${String(i).padStart(2, '0')}`, {
            readyAt: 10 + i,
            spec: makeJobSpec('g', { labels: ['gpu'] }),
          }),
        );
        const plain = Array.from({ length: 5 }, (_, i) => makeJob('p/2', `p${i}`, { readyAt: 100 + i }));
        await store.insertJobs(gpu);
        await store.insertJobs(plain);
        expect((await store.findQueuedJobs(3, { labels: ['gpu'] })).map((j) => j.name)).toEqual(['g00', 'g01', 'g02']);
        expect((await store.findQueuedJobs(3)).map((j) => j.name)).toEqual(['g00', 'g01', 'g02']);
        // An agent without the label: the oldest page holds none of its jobs, so it reads on.
        expect((await store.findQueuedJobs(3, { labels: [] })).map((j) => j.name)).toEqual(['p0', 'p1', 'p2']);
        for (const job of gpu.slice(0, 70)) {
          expect(await store.updateJob(job._id, { state: 'leased', agentId: 'ag' }, { states: ['queued'] })).toBe(true);
        }
        expect((await store.findQueuedJobs(2, { labels: ['gpu'] })).map((j) => j.name)).toEqual(['g70', 'g71']);
        // Retired hints are deleted at once, or (marked retired) in the store's next purge pass.
        const deadline = Date.now() + 10_000;
        while ((await ready.countDocuments({})) > 15 && Date.now() < deadline) await sleep(100);
        expect(await ready.countDocuments({ gone: true })).toBe(0);
        expect(await ready.countDocuments({})).toBe(15);
      } finally {
        await store.close();
      }
    });

  it('a pull reads a small page of ready hints, then a larger one, and all of them only when both hold too few', async () => {
    const pages: (number | null)[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === 'ready_jobs')
        pages.push((event.command.limit as number | undefined) ?? null);
    };
    await withWatchedStore(onCommand, async (store) => {
      const gpu = Array.from({ length: 150 }, (_, i) =>
        makeJob('p/3', `g${String(i).padStart(3, '0')}`, { readyAt: i, spec: makeJobSpec('g', { labels: ['gpu'] }) }),
      );
      await store.insertJobs(gpu);
      await store.insertJobs([makeJob('p/3', 'plain', { readyAt: 500 })]);
      expect((await store.findQueuedJobs(2, { labels: ['gpu'] })).map((j) => j.name)).toEqual(['g000', 'g001']);
      expect(pages).toEqual([16]);
      pages.length = 0;
      // Skipped hints do not count: 20 skipped, the next two come from the larger page.
      const skip = (jobId: string) => Number(jobId.slice(-3)) < 20;
      expect((await store.findQueuedJobs(2, { labels: ['gpu'], skip })).map((j) => j.name)).toEqual(['g020', 'g021']);
      expect(pages).toEqual([16, 128]);
      pages.length = 0;
      expect((await store.findQueuedJobs(2, { labels: [] })).map((j) => j.name)).toEqual(['plain']);
      expect(pages).toEqual([16, 128, null]);
    });
  });

  it('a full first page read lately is used again, without the hints found stale; one that holds too few is read afresh', async () => {
    let pages = 0;
    let jobReads = 0;
    const onCommand = (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === 'ready_jobs') pages++;
      if (event.commandName === 'find' && event.command.find === 'jobs') jobReads++;
    };
    await withWatchedStore(
      onCommand,
      async (store) => {
        const jobs = Array.from({ length: 20 }, (_, i) =>
          makeJob('p/4', `j${String(i).padStart(2, '0')}`, { readyAt: i }),
        );
        await store.insertJobs(jobs);
        const next = async (taken: string[]) =>
          (await store.findQueuedJobs(1, { skip: (jobId) => taken.includes(jobId.slice(-3)) })).map((j) => j.name);
        expect(await next([])).toEqual(['j00']);
        expect(pages).toBe(1);
        expect(await next(['j00'])).toEqual(['j01']);
        expect(pages).toBe(1);
        // Leased meanwhile: the page used again still offers it, and its job says otherwise...
        expect(await store.updateJob('p/4/j02', { state: 'leased', agentId: 'ag' }, { states: ['queued'] })).toBe(true);
        expect(await next(['j00', 'j01'])).toEqual(['j03']);
        expect(pages).toBe(1);
        // ...once: it is not offered again, and the candidate comes from its hint's copy, unread.
        jobReads = 0;
        expect(await next(['j00', 'j01', 'j03'])).toEqual(['j04']);
        expect(jobReads).toBe(0);
        // Nothing in it this pull can take: read afresh (j02's hint is gone, so j16 is in it).
        const first16 = jobs.slice(0, 16).map((j) => j.name);
        expect(await next(first16)).toEqual(['j16']);
        expect(pages).toBe(2);
      },
      { readyPageReuseMs: 60_000 },
    );
  });

  it("listJobs puts back a run's lost hints, looking them up by _id, however many other hints are stored", async () => {
    const finds: { collection: string; filter: unknown }[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      const collection = event.command.find;
      if (event.commandName === 'find' && (collection === 'ready_jobs' || collection === 'active_jobs'))
        finds.push({ collection, filter: event.command.filter });
    };
    const test = async (store: Store, db: Db) => {
      // A backlog of another run, and a run with a queued and a running job whose hints are lost.
      await store.insertJobs(Array.from({ length: 40 }, (_, i) => makeJob('p/1', `backlog-${i}`)));
      await store.insertJobs([
        makeJob('p/2', 'queued'),
        makeJob('p/2', 'running', { state: 'running', agentId: 'ag', leaseExpiresAt: 10 }),
        makeJob('p/2', 'done', { state: 'succeeded' }),
      ]);
      await db.collection('ready_jobs').deleteOne({ _id: 'p/2/queued#1' } as never);
      await db.collection('active_jobs').deleteOne({ _id: 'p/2/running#1' } as never);
      finds.length = 0;
      await store.listJobs('p/2');
      const hinted = async () =>
        (await db.collection('ready_jobs').countDocuments({ _id: 'p/2/queued#1' } as never)) +
        (await db.collection('active_jobs').countDocuments({ _id: 'p/2/running#1' } as never));
      const deadline = Date.now() + 3_000;
      while ((await hinted()) < 2 && Date.now() < deadline) await sleep(20);
      expect(await hinted()).toBe(2);
      // listJobs reads the running job's hint for its renewal, and the repair checks both: each
      // by its _id, none by a filter that FerretDB serves by reading every hint stored.
      const looked = [...new Set(finds.map((find) => JSON.stringify(find)))].sort();
      expect(looked.map((find) => JSON.parse(find))).toEqual([
        { collection: 'active_jobs', filter: { _id: 'p/2/running#1' } },
        { collection: 'ready_jobs', filter: { _id: 'p/2/queued#1' } },
      ]);
      expect((await store.findExpiredLeases(50, 10)).map((j) => j.name)).toEqual(['running']);
    };
    await withWatchedStore(onCommand, test);
  });
});
