import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../clock.js';
import { type FerretDB, startFerretDB } from '../../../../../test/helpers/ferretdb.js';
import { describeStoreContract, makeJob } from '../contract.js';
import type { Store } from '../types.js';
import { type MongoStoreOptions, createMongoStore } from './index.js';

// FerretDB is the only MongoDB-wire server here: the indexed job index is forced on it, so that
// both implementations keep the contract (the indexed one is correct there, only slower).
let ferret: FerretDB | undefined;
let admin: MongoClient | undefined;
let databases = 0;

const uri = () => {
  if (!ferret) throw new Error('FerretDB is not running (see the beforeAll error)');
  return ferret.uri;
};

/** A store on a database of its own, dropped when it closes. */
async function freshStore(options: Partial<MongoStoreOptions> = {}): Promise<Store> {
  const dbName = `hf_index_${process.pid}_${Date.now().toString(36)}_${databases++}`;
  const store = await createMongoStore({ uri: uri(), dbName, ...options });
  return {
    ...store,
    async close() {
      await store.close();
      admin ??= new MongoClient(uri());
      await admin.db(dbName).dropDatabase();
    },
  };
}

beforeAll(async () => {
  try {
    ferret = await startFerretDB();
  } catch (error) {
    const where = process.env.CI ? 'CI must provide FerretDB' : 'these tests need FerretDB';
    throw new Error(`${where}: run scripts/install-ferretdb.sh. ${(error as Error).message}`, { cause: error });
  }
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await ferret?.stop();
});

describeStoreContract('mongodb (FerretDB, indexed job index)', () => freshStore({ jobIndex: 'indexed' }));

describe('the job index of the MongoDB store', () => {
  it('the probe picks the hinted index on FerretDB, whose planner scans for a compound index', async () => {
    const probed = await freshStore();
    const forced = await freshStore({ jobIndex: 'indexed' });
    try {
      expect(probed.jobIndex()).toBe('hinted');
      expect(forced.jobIndex()).toBe('indexed');
    } finally {
      await probed.close();
      await forced.close();
    }
  });

  it('the indexed index writes no hints and finds jobs by queries on jobs, renewals on the job', async () => {
    const dbName = `hf_index_watched_${process.pid}_${databases++}`;
    const client = new MongoClient(uri(), { monitorCommands: true });
    const commands: CommandStartedEvent[] = [];
    client.on('commandStarted', (event) => commands.push(event));
    const store = await createMongoStore({ uri: uri(), client, dbName, jobIndex: 'indexed' });
    try {
      await store.insertJobs([
        makeJob('p/1', 'a', { readyAt: 2 }),
        makeJob('p/1', 'b', { readyAt: 1, spec: { ...makeJob('p/1', 'b').spec, labels: ['gpu'] } }),
      ]);
      commands.length = 0;
      expect((await store.findQueuedJobs(5)).map((job) => job.name)).toEqual(['b', 'a']);
      expect((await store.findQueuedJobs(5, { labels: [] })).map((job) => job.name)).toEqual(['a']);
      const finds = commands.filter((c) => c.commandName === 'find');
      expect(finds.map((c) => [c.command.find, c.command.filter])).toEqual([
        ['jobs', { state: 'queued' }],
        ['jobs', { state: 'queued' }],
      ]);
      expect([...((finds[0]?.command.sort ?? new Map()) as Map<string, number>)]).toEqual([
        ['readyAt', 1],
        ['_id', 1],
      ]);
      expect(finds.some((c) => c.command.hint !== undefined)).toBe(false);

      await store.updateJob('p/1/a', { state: 'leased', agentId: 'x', leaseExpiresAt: 100 }, { states: ['queued'] });
      expect(await store.renewLease('p/1/a', 1, 500)).toBe(true);
      const db = client.db(dbName);
      expect((await db.collection('jobs').findOne({ _id: 'p/1/a' as never }))?.leaseExpiresAt).toBe(500);
      expect(await db.collection('ready_jobs').countDocuments()).toBe(0);
      expect(await db.collection('active_jobs').countDocuments()).toBe(0);
      expect(await store.findExpiredLeases(400, 10)).toEqual([]);
      expect((await store.findExpiredLeases(600, 10)).map((job) => job.name)).toEqual(['a']);
      expect((await store.findJobsOfAgent('x')).map((job) => job.name)).toEqual(['a']);
    } finally {
      await store.close();
      await client.db(dbName).dropDatabase();
      await client.close();
    }
  });

  it('the indexed index honours a renewal a hinted store wrote to the active hint (a rolling upgrade)', async () => {
    const dbName = `hf_index_upgrade_${process.pid}_${databases++}`;
    const indexed = await createMongoStore({ uri: uri(), dbName, jobIndex: 'indexed' });
    const hinted = await createMongoStore({ uri: uri(), dbName, jobIndex: 'hinted' });
    try {
      await indexed.insertJobs([makeJob('p/1', 'a', { state: 'running', agentId: 'x', leaseExpiresAt: 100 })]);
      expect(await hinted.renewLease('p/1/a', 1, 400)).toBe(true);
      expect(await indexed.findExpiredLeases(300, 10)).toEqual([]);
      expect((await indexed.findExpiredLeases(500, 10)).map((job) => job.name)).toEqual(['a']);
    } finally {
      await hinted.close();
      await indexed.close();
      admin ??= new MongoClient(uri());
      await admin.db(dbName).dropDatabase();
    }
  });

  it("the hinted index stamps hints and ages them by the store's clock", async () => {
    const dbName = `hf_index_clock_${process.pid}_${databases++}`;
    const clock = createManualClock(1_000_000);
    const store = await createMongoStore({ uri: uri(), dbName, jobIndex: 'hinted', clock });
    admin ??= new MongoClient(uri());
    const db = admin.db(dbName);
    try {
      expect((await store.decide('d', {})).decision.at).toBe(1_000_000);
      await store.insertJobs([makeJob('p/1', 'a')]);
      expect((await db.collection('ready_jobs').findOne({ _id: 'p/1/a#1' as never }))?.at).toBe(1_000_000);
      // An active hint whose job never came: kept while it may have been written just before its
      // job (for a minute of the store's clock), then retired by the reader that finds it.
      const orphan = { _id: 'p/1/none#1', jobId: 'p/1/none', attempt: 1, agentId: null, leaseExpiresAt: null };
      await db.collection('active_jobs').insertOne({ ...orphan, at: clock.now() } as never);
      const live = () => db.collection('active_jobs').countDocuments({ _id: orphan._id as never, gone: { $ne: true } });
      await store.findExpiredLeases(clock.now(), 10);
      expect(await live()).toBe(1);
      await clock.advance(61_000);
      await store.findExpiredLeases(clock.now(), 10);
      expect(await live()).toBe(0);
    } finally {
      await store.close();
      await db.dropDatabase();
    }
  });
});
