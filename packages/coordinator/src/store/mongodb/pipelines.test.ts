import { type CommandStartedEvent, type Db, MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { makeJob, makeManualTrigger, makePipelineSpec } from '../contract.js';
import type { Store } from '../types.js';
import { createMongoStore, HISTORY_BACKFILLED } from './index.js';
import { ferretStoreKit } from './test-kit.js';

const { ferretUri, freshDbName, adminOf, withWatchedStore } = ferretStoreKit();

describe('pipelines and run numbers of the MongoDB store on FerretDB', () => {
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
});
