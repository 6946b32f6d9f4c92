import { isHiveForgeError } from '@hiveforge/sdk';
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { freePort, startFerretDB } from '../../../../../test/helpers/ferretdb.js';
import { describeStoreContract, makeJob } from '../contract.js';
import { createMongoStore } from './index.js';
import { ferretStoreKit, sleep } from './test-kit.js';

const { ferretDB, ferretUri, freshDbName, adminOf, freshStore, withWatchedStore } = ferretStoreKit();

describeStoreContract('mongodb (FerretDB)', () => freshStore(ferretUri()));

const replicaSetUri = process.env.HIVEFORGE_TEST_MONGODB_URI;
if (replicaSetUri) describeStoreContract('mongodb (HIVEFORGE_TEST_MONGODB_URI)', () => freshStore(replicaSetUri));

describe('the MongoDB store on FerretDB: indexes, records, clients and failures', () => {
  it('the FerretDB built by scripts/install-ferretdb.sh finds documents by _id through the _id index', async () => {
    const ferret = ferretDB();
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
      const indexed = ferretDB().build.package.includes('sqlite-id-index');
      expect(deletes.includes('ready_jobs')).toBe(indexed);
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
