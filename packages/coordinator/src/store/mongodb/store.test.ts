import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { isHiveForgeError } from '@hiveforge/sdk';
import { Binary, Collection, type CommandStartedEvent, type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FerretDB, freePort, startFerretDB } from '../../../../../test/helpers/ferretdb.js';
import {
  describeStoreContract,
  makeJob,
  makeJobSpec,
  makeLogChunk,
  makeManualTrigger,
  makePipelineSpec,
} from '../contract.js';
import { HISTORY_BACKFILLED, createMongoStore, type MongoStoreOptions } from './index.js';
import { type JobRecord, JobState, type Store } from '../types.js';

// One FerretDB for the file; every store gets a database of its own, dropped when it closes.
let ferret: FerretDB | undefined;
const admins = new Map<string, MongoClient>();
let databases = 0;

const freshDbName = () => `hf_${process.pid}_${Date.now().toString(36)}_${databases++}`;

const ferretUri = () => {
  if (!ferret) throw new Error('FerretDB is not running (see the beforeAll error)');
  return ferret.uri;
};

const adminOf = (uri: string) => {
  let admin = admins.get(uri);
  if (!admin) {
    admin = new MongoClient(uri);
    admins.set(uri, admin);
  }
  return admin;
};

/** A store on its own database; closing it drops the database. */
async function freshStore(uri: string, options: Partial<MongoStoreOptions> = {}): Promise<Store> {
  const dbName = options.dbName ?? freshDbName();
  const store = await createMongoStore({ uri, dbName, ...options });
  return {
    ...store,
    async close() {
      await store.close();
      await adminOf(uri).db(dbName).dropDatabase();
    },
  };
}

beforeAll(async () => {
  try {
    ferret = await startFerretDB();
  } catch (error) {
    const where = process.env.CI ? 'CI must provide FerretDB' : 'these tests need FerretDB';
    throw new Error(
      `${where}: run scripts/install-ferretdb.sh (or set HIVEFORGE_FERRETDB_BIN). ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.all([...admins.values()].map((admin) => admin.close()));
  await ferret?.stop();
});

describeStoreContract('mongodb (FerretDB)', () => freshStore(ferretUri()));

const replicaSetUri = process.env.HIVEFORGE_TEST_MONGODB_URI;
if (replicaSetUri) describeStoreContract('mongodb (HIVEFORGE_TEST_MONGODB_URI)', () => freshStore(replicaSetUri));

/** Resolves when `listener` would have been called, rejects after `ms`. */
const nextWakeup = (store: Store, topic: string, ms: number) =>
  new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no wake-up on '${topic}' within ${ms} ms`));
    }, ms);
    const off = store.subscribe(topic, () => {
      clearTimeout(timer);
      off();
      resolve(Date.now() - started);
    });
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `body` on a store of a fresh database whose client reports each command it starts to
 * `onCommand`; then closes the store, drops the database and closes the client.
 */
async function withWatchedStore(
  onCommand: (event: CommandStartedEvent) => void,
  body: (store: Store, db: Db) => Promise<void>,
  options: Partial<MongoStoreOptions> = {},
): Promise<void> {
  const dbName = freshDbName();
  const client = new MongoClient(ferretUri(), { monitorCommands: true });
  client.on('commandStarted', onCommand);
  const store = await createMongoStore({ uri: 'unused', dbName, client, ...options });
  try {
    await body(store, client.db(dbName));
  } finally {
    await store.close();
    await client.db(dbName).dropDatabase();
    await client.close();
  }
}

/** How many documents each `insert`, or statements each `update`, on `collection` carried. */
function batchSizes(command: 'insert' | 'update', collection: string) {
  const sizes: number[] = [];
  const field = command === 'insert' ? 'documents' : 'updates';
  const onCommand = (event: CommandStartedEvent) => {
    if (event.commandName === command && event.command[command] === collection)
      sizes.push((event.command[field] as unknown[]).length);
  };
  return { sizes, onCommand };
}

describe('MongoDB store on FerretDB', () => {
  it('decisions made at once go to the server together (group commit), each with its own outcome', async () => {
    const { sizes: inserts, onCommand } = batchSizes('insert', 'decisions');
    await withWatchedStore(onCommand, async (store) => {
      inserts.length = 0; // the store's start records a decision of its own (HISTORY_BACKFILLED)
      expect((await store.decide('taken', { by: 'first' })).won).toBe(true);
      expect(inserts).toEqual([1]);
      inserts.length = 0;
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.decide(i % 10 === 0 ? 'taken' : `d${i}`, { by: i })),
      );
      results.forEach((result, i) => {
        if (i % 10 === 0)
          expect(result).toMatchObject({ won: false, decision: { _id: 'taken', data: { by: 'first' } } });
        else expect(result).toMatchObject({ won: true, decision: { _id: `d${i}`, data: { by: i } } });
      });
      expect(await store.getDecision('d39')).toMatchObject({ data: { by: 39 } });
      // Every decision was sent once; the first went alone, the rest in fewer, larger inserts.
      expect(inserts.reduce((sum, n) => sum + n, 0)).toBe(40);
      expect(inserts[0]).toBe(1);
      expect(inserts.length).toBeLessThan(40);
    });
  });

  it('job updates made at once go to FerretDB together (group commit), each guarded and applied', async () => {
    const { sizes: updates, onCommand } = batchSizes('update', 'jobs');
    await withWatchedStore(onCommand, async (store) => {
      const names = Array.from({ length: 20 }, (_, i) => `j${String(i).padStart(2, '0')}`);
      await store.insertJobs(names.map((name) => makeJob('p/1', name)));
      updates.length = 0;
      // Every other update's guard fails (attempt 2 is not the job's): it is not sent.
      const results = await Promise.all(
        names.map((name, i) =>
          store.updateJob(
            `p/1/${name}`,
            { state: 'leased', agentId: `a${i}` },
            { states: ['queued'], attempt: 1 + (i % 2) },
          ),
        ),
      );
      expect(results).toEqual(names.map((_, i) => i % 2 === 0));
      const jobs = await store.listJobs('p/1');
      for (const [i, name] of names.entries()) {
        expect(jobs.find((job) => job.name === name)).toMatchObject(
          i % 2 === 0 ? { state: 'leased', agentId: `a${i}` } : { state: 'queued', agentId: null },
        );
      }
      expect(updates.reduce((sum, n) => sum + n, 0)).toBe(10);
      expect(updates.length).toBeLessThan(10);
    });
  });

  it('the FerretDB built by scripts/install-ferretdb.sh finds documents by _id through the _id index', async () => {
    if (!ferret) throw new Error('FerretDB is not running (see the beforeAll error)');
    // The script changes one line of FerretDB's SQLite backend so that lookups by `_id` use the
    // index it creates; the unchanged source reads the whole table for them (see the script).
    const patched = ferret.build.package.includes('sqlite-id-index');
    if (process.env.CI) expect(ferret.build.package).toBe('source+sqlite-id-index');
    const db = adminOf(ferretUri()).db(freshDbName());
    try {
      const docs = db.collection<{ _id: string; n: number }>('docs');
      await docs.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: `d${n}`, n })));
      const plan = JSON.stringify((await docs.find({ _id: 'd7' }).explain()).queryPlanner);
      expect(plan).toMatch(patched ? /SEARCH \S+ USING INDEX \S+__id_/ : /SCAN/);
      // Same results either way.
      expect(await docs.findOne({ _id: 'd7' })).toEqual({ _id: 'd7', n: 7 });
      expect((await docs.updateOne({ _id: 'd8' }, { $set: { n: 80 } })).modifiedCount).toBe(1);
      expect(await docs.find({ _id: 'd8' }).toArray()).toEqual([{ _id: 'd8', n: 80 }]);
      expect((await docs.deleteOne({ _id: 'd9' })).deletedCount).toBe(1);
      expect(await docs.countDocuments()).toBe(49);
      await expect(docs.insertOne({ _id: 'd1', n: 1 })).rejects.toMatchObject({ code: 11000 });
    } finally {
      await db.dropDatabase();
    }
  });

  it('a notify in one store wakes subscribers of another store on the same database within a second', async () => {
    const dbName = freshDbName();
    const a = await freshStore(ferretUri(), { dbName });
    const b = await createMongoStore({ uri: ferretUri(), dbName });
    try {
      const woken = nextWakeup(b, 'queue', 1_000);
      a.notify('queue');
      expect(await woken).toBeLessThan(1_000);

      // Each store wakes its own subscribers once, directly; the poller neither repeats a
      // wake-up it has seen nor echoes the store's own.
      let inA = 0;
      let inB = 0;
      const offA = a.subscribe('run:x', () => inA++);
      const offB = b.subscribe('run:x', () => inB++);
      a.notify('run:x');
      await sleep(600);
      offA();
      offB();
      expect(inA).toBe(1);
      expect(inB).toBe(1);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('FerretDB has no change streams: wake-ups fall back to polling, and still cross stores', async () => {
    const dbName = freshDbName();
    const a = await freshStore(ferretUri(), { dbName });
    const b = await createMongoStore({ uri: ferretUri(), dbName });
    const never = await createMongoStore({ uri: ferretUri(), dbName, changeStreams: false });
    try {
      // The store tried a change stream when it started; FerretDB refused it.
      expect(a.wakeupMode()).toBe('polling');
      expect(b.wakeupMode()).toBe('polling');
      expect(never.wakeupMode()).toBe('polling');
      const woken = nextWakeup(b, 'queue', 5_000);
      a.notify('queue');
      await woken;
      expect(b.wakeupMode()).toBe('polling');
    } finally {
      await never.close();
      await b.close();
      await a.close();
    }
  });

  it('wakes subscribers from a change stream, skips its own stamps, and falls back to polling when the stream fails', async () => {
    // A stand-in for the driver's change stream: no replica set can run here, and FerretDB has
    // no change streams. It answers the store's probe and delivers the change events the test
    // emits, shaped as MongoDB reports updates of `wakeups` documents.
    class StandInChangeStream extends EventEmitter {
      async tryNext() {
        return null;
      }
      async close() {}
    }
    const dbName = freshDbName();
    const b = await createMongoStore({ uri: ferretUri(), dbName });
    const streams: StandInChangeStream[] = [];
    const watch = vi.spyOn(Collection.prototype, 'watch').mockImplementation(() => {
      const stream = new StandInChangeStream();
      streams.push(stream);
      return stream as never;
    });
    let a: Store | undefined;
    try {
      expect(b.wakeupMode()).toBe('polling');
      a = await freshStore(ferretUri(), { dbName });
      expect(a.wakeupMode()).toBe('change-stream');

      let woken = 0;
      const off = a.subscribe('queue', () => woken++);
      const stream = streams.at(-1);
      if (!stream || streams.length !== 2) throw new Error('the store did not open its change stream');
      watch.mockRestore();
      const stamp = (topic: string, origin: string) =>
        stream.emit('change', {
          operationType: 'update',
          documentKey: { _id: topic },
          updateDescription: { updatedFields: { at: new Date(), [`by.${origin}`]: Date.now() }, removedFields: [] },
        });
      stamp('queue', 'another-coordinator');
      expect(woken).toBe(1);
      stream.emit('change', {
        operationType: 'insert',
        documentKey: { _id: 'queue' },
        fullDocument: { _id: 'queue', at: new Date(), by: { 'a-third-one': 1 } },
      });
      expect(woken).toBe(2);
      stamp('run:p/1', 'another-coordinator'); // nobody listens: nothing to do

      // Its own stamps are skipped: its subscribers were woken directly.
      a.notify('queue');
      expect(woken).toBe(3);
      const wakeups = adminOf(ferretUri())
        .db(dbName)
        .collection<{ _id: string; by: Record<string, number> }>('wakeups');
      const deadline = Date.now() + 5_000;
      let own: string | undefined;
      while (!own && Date.now() < deadline) {
        own = Object.keys((await wakeups.findOne({ _id: 'queue' }))?.by ?? {})[0];
        if (!own) await sleep(20);
      }
      if (!own) throw new Error('the notify was not written');
      stamp('queue', own);
      expect(woken).toBe(3);

      // The stream fails: the store polls from then on, and another store's wake-ups still arrive.
      stream.emit('error', new Error('change stream failed'));
      stream.emit('close');
      expect(a.wakeupMode()).toBe('polling');
      off();
      const again = nextWakeup(a, 'queue', 5_000);
      b.notify('queue');
      await again;
    } finally {
      watch.mockRestore();
      await b.close();
      await a?.close();
    }
  });

  it('creates its indexes idempotently at every start', async () => {
    const dbName = freshDbName();
    const first = await freshStore(ferretUri(), { dbName });
    const second = await createMongoStore({ uri: ferretUri(), dbName });
    await second.close();
    try {
      const db = adminOf(ferretUri()).db(dbName);
      const keysOf = async (name: string) => (await db.collection(name).indexes()).map((index) => index.key);
      expect(await keysOf('jobs')).toEqual(expect.arrayContaining([{ runId: 1 }]));
      expect(await keysOf('log_chunks')).toEqual(expect.arrayContaining([{ jobId: 1, attempt: 1, seq: 1 }]));
      expect(await keysOf('wakeups')).toEqual(expect.arrayContaining([{ at: 1 }]));
      const tokenHash = (await db.collection('agents').indexes()).find((index) => index.key.tokenHash === 1);
      expect(tokenHash?.unique).toBe(true);
    } finally {
      await first.close();
    }
  });

  it('decisions racing from two store instances have exactly one winner', async () => {
    const dbName = freshDbName();
    const a = await freshStore(ferretUri(), { dbName });
    const b = await createMongoStore({ uri: ferretUri(), dbName });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => [
          a.decide('run:1/job:build/attempt:1/lease', { store: 'a', i }),
          b.decide('run:1/job:build/attempt:1/lease', { store: 'b', i }),
        ]).flat(),
      );
      const winners = results.filter((r) => r.won);
      expect(winners).toHaveLength(1);
      for (const r of results) expect(r.decision).toEqual(winners[0]?.decision);
      expect((await b.getDecision('run:1/job:build/attempt:1/lease'))?.data).toEqual(winners[0]?.decision.data);
    } finally {
      await b.close();
      await a.close();
    }
  });

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

  for (const retireHintsBy of ['delete', 'update'] as const) {
    it(`on FerretDB, job operations look documents up by _id alone (the only filter it serves from an index); hints retired by ${retireHintsBy}`, async () => {
      const filters: { command: string; collection: string; filter: unknown }[] = [];
      const onCommand = (event: CommandStartedEvent) => {
        const command = event.command as Record<string, unknown>;
        const collection = command.find ?? command.update ?? command.delete;
        if (typeof collection !== 'string' || !['jobs', 'ready_jobs', 'active_jobs', 'run_jobs'].includes(collection))
          return;
        const ops = (command.updates ?? command.deletes ?? [{ q: command.filter }]) as { q: unknown }[];
        for (const op of ops) filters.push({ command: event.commandName, collection, filter: op.q });
      };
      const test = async (store: Store, db: Db) => {
        await store.insertJobs([makeJob('p/1', 'a'), makeJob('p/1', 'b')]);
        filters.length = 0;
        const [job] = await store.findQueuedJobs(1);
        await store.updateJob(
          job!._id,
          { state: 'leased', agentId: 'ag', leaseExpiresAt: 10 },
          { states: ['queued'], attempt: 1 },
        );
        await store.updateJob(job!._id, { state: 'running' }, { states: ['leased'], attempt: 1 });
        await store.renewLease(job!._id, 1, 20);
        await store.getJob(job!._id);
        await store.findExpiredLeases(30, 10);
        await store.findJobsOfAgent('ag');
        expect((await store.listJobs('p/1')).map((j) => j.name)).toEqual(['a', 'b']);
        await store.updateJob(
          job!._id,
          { state: 'succeeded', leaseExpiresAt: null },
          { states: ['running'], attempt: 1 },
        );
        // The retirement of the last hint runs in the background.
        const active = db.collection('active_jobs');
        const deadline = Date.now() + 3_000;
        while ((await active.countDocuments({ gone: { $ne: true } })) > 0 && Date.now() < deadline) await sleep(20);
        expect(filters.length).toBeGreaterThan(10);
        const deletes = filters.filter(({ command }) => command === 'delete');
        // Hints are deleted by _id, or (where a delete scans) marked retired instead.
        if (retireHintsBy === 'update') expect(deletes).toEqual([]);
        else expect(deletes.map((d) => d.collection).sort()).toEqual(['active_jobs', 'ready_jobs']);
        for (const { collection, filter } of filters) {
          const json = JSON.stringify(filter);
          // Jobs only by _id; hints by _id, or all live ones (they are few), or the oldest page
          // with no filter at all (FerretDB hands its limit to SQLite).
          const whole =
            collection !== 'jobs' &&
            (json === JSON.stringify({ gone: { $ne: true } }) ||
              (retireHintsBy === 'delete' && collection === 'ready_jobs' && json === '{}'));
          if (!whole) expect({ collection, filter }).toEqual({ collection, filter: { _id: expect.any(String) } });
        }
      };
      await withWatchedStore(onCommand, test, { retireHintsBy });
    });
  }

  it('lists a run of jobs by _id from its run_jobs entry; a run without one, or larger than listByIdMax, by runId', async () => {
    const finds: unknown[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === 'jobs') finds.push(event.command.filter);
    };
    const test = async (store: Store, db: Db) => {
      const small = [makeJob('p/1', 'zeta'), makeJob('p/1', 'alpha')];
      const large = ['a', 'b', 'c', 'd', 'e'].map((name) => makeJob('p/2', name));
      await store.insertJobs([...small, ...large]);
      // A resumed trigger stores the jobs missing and keeps the others: the entry names them all.
      const more = makeJob('p/1', 'beta');
      await store.insertJobs([...small, more], { keepExisting: true });
      const entries = db.collection<{ _id: string; jobs: string[] }>('run_jobs');
      expect(await entries.findOne({ _id: 'p/1' })).toEqual({
        _id: 'p/1',
        jobs: ['p/1/zeta', 'p/1/alpha', 'p/1/beta'],
      });
      // A job the entry names but that is not stored (its insert failed) is skipped.
      await entries.updateOne({ _id: 'p/1' }, { $push: { jobs: 'p/1/ghost' } });

      finds.length = 0;
      expect(await store.listJobs('p/1')).toStrictEqual([...small, more]);
      // Read at once, so in no set order.
      const ids = finds.map((filter) => (filter as { _id: string })._id).sort();
      expect(ids).toEqual(['p/1/alpha', 'p/1/beta', 'p/1/ghost', 'p/1/zeta']);

      finds.length = 0;
      expect(await store.listJobs('p/2')).toStrictEqual(large);
      expect(finds).toEqual([{ runId: 'p/2' }]);

      // Runs stored without an entry are read by runId.
      await entries.deleteOne({ _id: 'p/1' });
      finds.length = 0;
      expect(await store.listJobs('p/1')).toStrictEqual([...small, more]);
      expect(finds).toEqual([{ runId: 'p/1' }]);
    };
    await withWatchedStore(onCommand, test, { listByIdMax: 4 });
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

  it("lastRunNumber reads the pipeline's run_numbers entry, and queries the runs only of a pipeline without one", async () => {
    const finds: unknown[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      if (event.commandName === 'find' && event.command.find === 'runs') finds.push(event.command.filter);
    };
    const test = async (store: Store, db: Db) => {
      const trigger = makeManualTrigger();
      // Stored out of order: the entry keeps the highest.
      for (const [pipeline, number] of [
        ['a', 2],
        ['a', 1],
        ['b', 7],
      ] as const) {
        await store.insertRun({
          _id: `${pipeline}/${number}`,
          pipeline,
          number,
          versionId: 'v',
          trigger,
          status: 'running',
          createdAt: number,
          finishedAt: null,
        });
      }
      finds.length = 0;
      expect([await store.lastRunNumber('a'), await store.lastRunNumber('b')]).toEqual([2, 7]);
      expect(finds).toEqual([]);
      // A pipeline with no runs, or whose runs were stored without an entry, is queried.
      expect(await store.lastRunNumber('none')).toBe(0);
      await db.collection('run_numbers').deleteOne({ _id: 'a' } as never);
      expect(await store.lastRunNumber('a')).toBe(2);
      expect(finds).toEqual([{ pipeline: 'none' }, { pipeline: 'a' }]);
    };
    await withWatchedStore(onCommand, test);
  });

  it('detects how to retire hints: by delete where lookups by _id use the index, else by update', async () => {
    const deletes: string[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      if (event.commandName === 'delete') deletes.push(String(event.command.delete));
    };
    await withWatchedStore(onCommand, async (store) => {
      await store.insertJobs([makeJob('p/1', 'a')]);
      const [job] = await store.findQueuedJobs(1);
      await store.updateJob(job!._id, { state: 'leased', agentId: 'ag' }, { states: ['queued'] });
      const deadline = Date.now() + 3_000;
      while (!deletes.includes('ready_jobs') && Date.now() < deadline) await sleep(20);
      const indexed = ferret?.build.package.includes('sqlite-id-index') ?? false;
      expect(deletes.includes('ready_jobs')).toBe(indexed);
    });
  });

  it('refuses a batch of jobs of which one exists, and keeps none of it', async () => {
    const store = await freshStore(ferretUri());
    try {
      await store.insertJobs([makeJob('p/1', 'b')]);
      const error = await store
        .insertJobs([makeJob('p/1', 'a'), makeJob('p/1', 'b'), makeJob('p/1', 'c')])
        .catch((e) => e);
      expect(isHiveForgeError(error) && error.code).toBe('HF_CONFLICT');
      expect((await store.listJobs('p/1')).map((j) => j.name)).toEqual(['b']);
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual(['b']);
    } finally {
      await store.close();
    }
  });

  it('keeps one wake-up document per topic, however often it is notified', async () => {
    const dbName = freshDbName();
    const a = await freshStore(ferretUri(), { dbName });
    const b = await createMongoStore({ uri: ferretUri(), dbName });
    try {
      let woken = 0;
      const off = b.subscribe('queue', () => woken++);
      for (let i = 0; i < 20; i++) {
        a.notify('queue');
        a.notify('run:p/1');
        await sleep(10);
      }
      const deadline = Date.now() + 2_000;
      while (woken === 0 && Date.now() < deadline) await sleep(20);
      off();
      expect(woken).toBeGreaterThan(0);
      const topics = await adminOf(ferretUri()).db(dbName).collection('wakeups').find({}).toArray();
      expect(topics.map((t) => t._id).sort()).toEqual(['queue', 'run:p/1']);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('writes a topic notified with `within` at most about once per `within`, others every 50 ms', async () => {
    const writes = new Map<string, number>();
    const onCommand = ({ commandName, command }: CommandStartedEvent) => {
      if (commandName !== 'update' || command.update !== 'wakeups') return;
      for (const { q } of command.updates as { q: { _id: string } }[]) writes.set(q._id, (writes.get(q._id) ?? 0) + 1);
    };
    await withWatchedStore(onCommand, async (store) => {
      const started = Date.now();
      while (Date.now() - started < 1_000) {
        store.notify('run:p/1', { within: 250 });
        store.notify('queue');
        await sleep(10);
      }
      await sleep(300);
    });
    // One second of notifications every 10 ms: the run's topic at most once per 250 ms (and
    // once more for the notifications after its last write), the queue's every 50 ms at best.
    expect(writes.get('run:p/1')).toBeGreaterThanOrEqual(2);
    expect(writes.get('run:p/1')).toBeLessThanOrEqual(6);
    expect(writes.get('queue')).toBeGreaterThanOrEqual(8);
  });

  it('updateJob checks its guard against the job the caller decided on, when given; getJob reads only the job', async () => {
    const reads: string[] = [];
    const hintReads: string[] = [];
    const onCommand = ({ commandName, command }: CommandStartedEvent) => {
      if (commandName === 'find' && command.find === 'jobs') reads.push(String(command.filter?._id));
      if (commandName === 'find' && command.find === 'active_jobs') hintReads.push(String(command.filter?._id));
    };
    await withWatchedStore(onCommand, async (store) => {
      await store.insertJobs([makeJob('p/1', 'a'), makeJob('p/1', 'b')]);
      const [a, b] = [await store.getJob('p/1/a'), await store.getJob('p/1/b')];
      reads.length = 0;
      const guard = { states: [JobState.queued], attempt: 1 };
      expect(await store.updateJob('p/1/a', { state: JobState.leased }, guard)).toBe(true);
      expect(reads).toEqual(['p/1/a']);
      expect(await store.updateJob('p/1/b', { state: JobState.leased }, { ...guard, decidedOn: b as JobRecord })).toBe(
        true,
      );
      expect(reads).toEqual(['p/1/a']);
      expect((await store.getJob('p/1/b'))?.state).toBe(JobState.leased);
      // The hints follow the change as computed from the job decided on: b left the queue.
      expect((await store.findQueuedJobs(10)).map((j) => j.name)).toEqual([]);
      // A read of a leased job costs one read: its renewals, on its hint, are left out.
      reads.length = 0;
      hintReads.length = 0;
      await store.getJob('p/1/b');
      expect([reads, hintReads]).toEqual([['p/1/b'], []]);
      // The job decided on of another job is not taken for this one's.
      reads.length = 0;
      expect(await store.updateJob('p/1/b', { state: JobState.running }, { ...guard, decidedOn: a as JobRecord })).toBe(
        false,
      );
      expect(reads).toEqual(['p/1/b']);
    });
  });

  it('keys with dots, dollar signs and percent signs round-trip', async () => {
    const store = await freshStore(ferretUri());
    try {
      const outputs = { 'version.major': '1', $ref: '2', '50%': '3', '%2E': '4', plain: '5' };
      await store.insertJobs([makeJob('p/1', 'a', { outputs })]);
      expect((await store.getJob('p/1/a'))?.outputs).toEqual(outputs);
      expect(await store.updateJob('p/1/a', { outputs: { 'a.b': 'c' } }, { attempt: 1 })).toBe(true);
      expect((await store.getJob('p/1/a'))?.outputs).toEqual({ 'a.b': 'c' });
      const data = { nested: { 'x.y': [{ $z: 1 }] } };
      expect((await store.decide('d', data)).decision.data).toEqual(data);
      expect((await store.getDecision('d'))?.data).toEqual(data);
    } finally {
      await store.close();
    }
  });

  it('returns records exactly as stored: no adapter fields, jobs in insertion order', async () => {
    const store = await freshStore(ferretUri());
    try {
      const jobs = [makeJob('p/1', 'zeta'), makeJob('p/1', 'alpha', { leaseExpiresAt: 1_700_000_000_123 })];
      await store.insertJobs(jobs);
      expect(await store.getJob('p/1/alpha')).toStrictEqual(jobs[1]);
      expect(await store.listJobs('p/1')).toStrictEqual(jobs);
      const meta = {
        _id: 'r/a',
        runId: 'r',
        name: 'a',
        jobId: null,
        attempt: null,
        size: 1,
        sha256: 's',
        createdAt: 1,
      };
      await store.putArtifact(meta);
      expect(await store.getArtifact('r/a')).toStrictEqual(meta);
      expect(await store.listArtifacts('r')).toStrictEqual([meta]);
    } finally {
      await store.close();
    }
  });

  it('identical artifact content is one GridFS file, however many records name it', async () => {
    const dbName = freshDbName();
    const store = await freshStore(ferretUri(), { dbName });
    try {
      const data = Buffer.from('same bytes');
      const first = await store.putBlob(Readable.from([data]));
      const second = await store.putBlob(Readable.from([data]));
      expect(second).toEqual({ ...first, created: false });
      const meta = { runId: 'r', jobId: 'j', attempt: 1, size: first.size, sha256: first.sha256, createdAt: 0 };
      await store.putArtifact({ ...meta, _id: 'r/a', name: 'a' });
      await store.putArtifact({ ...meta, _id: 'r/b', name: 'b' });
      const db = adminOf(ferretUri()).db(dbName);
      expect(await db.collection('blobs.files').countDocuments({})).toBe(1);
      expect((await store.listArtifacts('r')).map((a) => a.sha256)).toEqual([first.sha256, first.sha256]);
    } finally {
      await store.close();
    }
  });

  it('counts a chunk repeated within one batch once', async () => {
    const store = await freshStore(ferretUri());
    try {
      const chunk = { _id: 'j#1#0', jobId: 'j', runId: 'r', attempt: 1, seq: 0, offset: 0, text: 'x', at: 0 };
      expect(await store.appendLogChunks([chunk, chunk, { ...chunk, _id: 'j#1#1', seq: 1 }])).toBe(2);
      expect(await store.appendLogChunks([chunk])).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('stores large log chunks deflated as Binary, small ones plain, and still reads plain documents', async () => {
    const dbName = freshDbName();
    const store = await freshStore(ferretUri(), { dbName });
    try {
      const raw = adminOf(ferretUri()).db(dbName).collection<{ _id: string; [key: string]: unknown }>('log_chunks');
      const big = 'PASS src/store/contract.ts > log chunks ✓ 12 ms\n'.repeat(1_000);
      const chunk = (seq: number, text: string) => makeLogChunk('j', seq, text);
      expect(await store.appendLogChunks([chunk(0, big), chunk(1, 'tiny\n')])).toBe(2);
      const stored = await raw.findOne({ _id: 'j#1#0' });
      expect(stored).not.toHaveProperty('text');
      expect(stored?._encoding).toBe('deflate-raw');
      expect(stored?._data).toBeInstanceOf(Binary);
      const packed = stored?._data instanceof Binary ? stored._data.length() : 0;
      expect(packed).toBeGreaterThan(0);
      expect(packed * 10).toBeLessThan(Buffer.byteLength(big));
      expect(await raw.findOne({ _id: 'j#1#1' })).toMatchObject({ text: 'tiny\n' });
      expect(await raw.findOne({ _id: 'j#1#1' })).not.toHaveProperty('_data');
      // A resend of the compressed chunk stays one document, unchanged.
      expect(await store.appendLogChunks([chunk(0, big)])).toBe(0);
      expect(await raw.countDocuments({})).toBe(2);
      // Written before compression: plain text, no encoding.
      await raw.insertOne({ ...chunk(2, 'old plain text\n'.repeat(100)) });
      const read = await store.readLogChunks('j');
      expect(read).toStrictEqual([chunk(0, big), chunk(1, 'tiny\n'), chunk(2, 'old plain text\n'.repeat(100))]);
    } finally {
      await store.close();
    }
  });

  it('lists pipeline versions from small history entries, never reading the bundles', async () => {
    const reads: string[] = [];
    const onCommand = (event: CommandStartedEvent) => {
      const command = event.command as Record<string, unknown>;
      if (typeof command.find === 'string') reads.push(command.find);
    };
    await withWatchedStore(onCommand, async (store, db) => {
      const spec = makePipelineSpec('web', [makeJob('x', 'build').spec]);
      for (const [i, id] of ['v1', 'v2', 'v3'].entries()) {
        await store.putPipelineVersion({
          _id: id,
          pipeline: 'web',
          spec,
          bundle: 'x'.repeat(1_000),
          entry: 'h.ts',
          createdAt: i,
        });
      }
      reads.length = 0;
      const page = await store.listPipelineVersions('web', { limit: 2 });
      expect(page.map((v) => v._id)).toEqual(['v3', 'v2']);
      expect((await store.listPipelineVersions('web', { limit: 2, before: 'v2' })).map((v) => v._id)).toEqual(['v1']);
      expect(reads.length).toBeGreaterThan(0);
      expect(reads.every((collection) => collection === 'pipeline_history')).toBe(true);
      const indexes = await db.collection('pipeline_history').indexes();
      expect(indexes.map((index) => index.key)).toContainEqual({ pipeline: 1, createdAt: -1, _id: -1 });
    });
  });

  it('writes the history entries of versions stored before pipeline_history, once per database', async () => {
    const uri = ferretUri();
    const dbName = freshDbName();
    const db = adminOf(uri).db(dbName);
    const version = (id: string, createdAt: number) => ({
      _id: id,
      pipeline: 'web',
      spec: makePipelineSpec('web', [makeJob('x', 'build').spec, makeJob('x', 'test').spec]),
      bundle: '',
      entry: 'h.ts',
      createdAt,
    });
    try {
      // A database from before pipeline_history: versions without their entries.
      const first = await createMongoStore({ uri, dbName });
      await first.putPipelineVersion(version('v1', 1));
      await first.putPipelineVersion(version('v2', 2));
      await first.close();
      await db.collection('pipeline_history').deleteMany({});
      await db.collection('decisions').deleteOne({ _id: HISTORY_BACKFILLED } as never);

      const second = await createMongoStore({ uri, dbName });
      expect((await second.listPipelineVersions('web', { limit: 10 })).map((v) => [v._id, v.jobs])).toEqual([
        ['v2', ['build', 'test']],
        ['v1', ['build', 'test']],
      ]);
      expect(await second.getDecision(HISTORY_BACKFILLED)).not.toBeNull();
      await second.close();

      // Done once: a later start reads the decision and no version.
      const reads: string[] = [];
      const client = new MongoClient(uri, { monitorCommands: true });
      client.on('commandStarted', (event: CommandStartedEvent) => {
        if (event.commandName === 'find') reads.push(String(event.command.find));
      });
      const third = await createMongoStore({ uri: 'unused', dbName, client });
      await third.close();
      await client.close();
      expect(reads).not.toContain('pipeline_versions');
      expect(reads).toContain('decisions');
    } finally {
      await db.dropDatabase();
    }
  });

  it('deletes old wake-ups while polling', async () => {
    const dbName = freshDbName();
    const store = await freshStore(ferretUri(), { dbName });
    try {
      const wakeups = adminOf(ferretUri()).db(dbName).collection('wakeups');
      await wakeups.insertOne({ topic: 'queue', at: new Date(Date.now() - 120_000), origin: 'gone' });
      const off = store.subscribe('queue', () => undefined);
      const deadline = Date.now() + 3_000;
      while ((await wakeups.countDocuments({})) > 0 && Date.now() < deadline) await sleep(50);
      off();
      expect(await wakeups.countDocuments({})).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('works on a MongoClient it is given, and leaves it open', async () => {
    const dbName = freshDbName();
    const client = new MongoClient(ferretUri(), { writeConcern: { w: 'majority' }, retryWrites: true });
    try {
      const store = await createMongoStore({ uri: 'unused', dbName, client });
      await store.putToken({
        _id: 'h',
        id: 'tok_1',
        name: 'ci',
        role: 'admin',
        createdAt: 0,
        expiresAt: null,
        revokedAt: null,
      });
      await store.close();
      expect(await client.db(dbName).collection('tokens').countDocuments({})).toBe(1);
      await client.db(dbName).dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('tokens stored before they had ids get one at start, and keep working', async () => {
    const uri = ferretUri();
    const dbName = freshDbName();
    const db = adminOf(uri).db(dbName);
    try {
      await db
        .collection<{ _id: string; name: string; role: string; createdAt: number }>('tokens')
        .insertOne({ _id: 'legacy-hash', name: 'old', role: 'admin', createdAt: 5 });
      const store = await createMongoStore({ uri, dbName });
      const token = await store.getToken('legacy-hash');
      expect(token).toMatchObject({ _id: 'legacy-hash', name: 'old', role: 'admin', expiresAt: null, revokedAt: null });
      expect(token?.id).toMatch(/^tok_[0-9a-f]{16}$/);
      expect((await store.listTokens()).map((t) => t.id)).toEqual([token?.id]);
      expect(await store.revokeToken(token?.id as string, 9)).toMatchObject({ name: 'old', revokedAt: 9 });
      await store.close();
    } finally {
      await db.dropDatabase();
    }
  });

  it('a closed store rejects operations as unavailable and ignores notify', async () => {
    const store = await freshStore(ferretUri());
    await store.close();
    expect(() => store.notify('queue')).not.toThrow();
    const error = await store.getJob('x').catch((e: unknown) => e);
    expect(isHiveForgeError(error) && error.code).toBe('HF_STORE_UNAVAILABLE');
  });

  it('an unreachable server is a retryable StoreUnavailableError', async () => {
    const port = await freePort();
    const error = await createMongoStore({
      uri: `mongodb://127.0.0.1:${port}/?directConnection=true&serverSelectionTimeoutMS=300`,
    }).catch((e: unknown) => e);
    expect(isHiveForgeError(error) && { code: error.code, retryable: error.retryable }).toEqual({
      code: 'HF_STORE_UNAVAILABLE',
      retryable: true,
    });
  });

  it('operations fail with StoreUnavailableError once the server is gone', async () => {
    await using server = await startFerretDB();
    const store = await createMongoStore({ uri: `${server.uri}&serverSelectionTimeoutMS=500`, dbName: 'gone' });
    try {
      await store.insertJobs([makeJob('p/1', 'a')]);
      await server.stop();
      const error = await store.getJob('p/1/a').catch((e: unknown) => e);
      expect(isHiveForgeError(error) && error.code).toBe('HF_STORE_UNAVAILABLE');
    } finally {
      await store.close();
    }
  });
});
