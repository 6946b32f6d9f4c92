import { EventEmitter } from 'node:events';
import { Collection, type CommandStartedEvent } from 'mongodb';
import { describe, expect, it, vi } from 'vitest';
import type { Store } from '../types.js';
import { createMongoStore } from './index.js';
import { ferretStoreKit, nextWakeup, sleep } from './test-kit.js';

const { ferretUri, freshDbName, adminOf, freshStore, withWatchedStore } = ferretStoreKit();

describe('wake-ups of the MongoDB store on FerretDB', () => {
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
});
