import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type Store, createCoordinator, createManualClock, createMemoryStore } from '@hiveforge/coordinator';
import { createMongoStore } from '@hiveforge/coordinator/mongodb';
import { GridFSBucket, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FerretDB, startFerretDB } from './helpers/ferretdb.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 0, 1);

let ferret: FerretDB;
beforeAll(async () => {
  ferret = await startFerretDB();
}, 60_000);
afterAll(async () => {
  await ferret?.stop();
});

const kinds = {
  memory: async (clock: ReturnType<typeof createManualClock>) => createMemoryStore({ clock }),
  'mongodb (FerretDB)': async (clock: ReturnType<typeof createManualClock>) =>
    createMongoStore({ uri: ferret.uri, dbName: `hf_blob_gc_${process.pid}_${randomBytes(3).toString('hex')}`, clock }),
};

describe.each(Object.entries(kinds))('the blob sweep on the coordinator (%s store)', (_name, storeOf) => {
  it('collects blobs nothing names once they are older than the grace period, on the coordinator clock; named blobs stay', async () => {
    const clock = createManualClock(START);
    const store: Store = await storeOf(clock);
    await using _store = { [Symbol.asyncDispose]: () => store.close() };
    await using _coordinator = await createCoordinator({
      store,
      agentSecret: randomBytes(16).toString('hex'),
      clock,
      blobGrace: '10m',
      onError: (error) => {
        throw error;
      },
    });
    const named = await store.putBlob(Readable.from([randomBytes(2000)]));
    await store.putArtifact({
      _id: 'r/1/kept',
      runId: 'r/1',
      name: 'kept',
      jobId: null,
      attempt: null,
      size: named.size,
      sha256: named.sha256,
      createdAt: START,
    });
    const unnamed = await store.putBlob(Readable.from([randomBytes(2000)]));
    const cacheBlob = await store.putCacheBlob(Readable.from([randomBytes(2000)]));
    const renewedBytes = randomBytes(2000);
    const renewed = await store.putBlob(Readable.from([renewedBytes]));
    const exists = async (sha256: string, cache = false) => {
      const opened = await (cache ? store.openCacheBlob(sha256) : store.openBlob(sha256));
      (opened?.stream as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
      return opened !== null;
    };

    // Sweeps every 5 minutes; the blobs are younger than 10 minutes until START + 10m.
    await clock.advance(5 * MINUTE);
    await clock.advance(5 * MINUTE);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await exists(unnamed.sha256)).toBe(true);
    expect(await exists(cacheBlob.sha256, true)).toBe(true);

    // Identical content stored again at START + 10m: a new use, its record on its way.
    expect(await store.putBlob(Readable.from([renewedBytes]))).toMatchObject({ created: false });
    await clock.advance(5 * MINUTE);
    await vi.waitFor(async () => expect(await exists(unnamed.sha256)).toBe(false), { timeout: 10_000 });
    expect(await exists(cacheBlob.sha256, true)).toBe(false);
    expect(await exists(named.sha256)).toBe(true);
    expect(await exists(renewed.sha256)).toBe(true);
  });
});

describe('the blob sweep on FerretDB: leftovers of puts that never finished', () => {
  it('removes GridFS files of the blobs bucket that no blob record names, once older than the cut-off', async () => {
    const dbName = `hf_blob_orphans_${process.pid}`;
    const clock = createManualClock(Date.now());
    const store = await createMongoStore({ uri: ferret.uri, dbName, clock });
    await using _store = { [Symbol.asyncDispose]: () => store.close() };
    const client = await new MongoClient(ferret.uri).connect();
    await using _client = { [Symbol.asyncDispose]: () => client.close() };
    const db = client.db(dbName);
    // A put whose coordinator died between its bytes and its record.
    const orphan = new ObjectId();
    const upload = new GridFSBucket(db, { bucketName: 'blobs' }).openUploadStreamWithId(orphan, 'blob');
    await new Promise<void>((resolve, reject) =>
      upload.end(randomBytes(5000), (error?: Error | null) => (error ? reject(error) : resolve())),
    );
    const kept = await store.putBlob(Readable.from([randomBytes(5000)]));
    await store.putArtifact({
      _id: 'r/1/a',
      runId: 'r/1',
      name: 'a',
      jobId: null,
      attempt: null,
      size: kept.size,
      sha256: kept.sha256,
      createdAt: 0,
    });
    const files = db.collection('blobs.files');
    expect(await files.countDocuments()).toBe(2);
    // Not old enough: an upload may still be writing its record.
    const early = await store.collectBlobs({ putBefore: Date.now() - 60_000 });
    expect(early.deleted).toEqual([]);
    for (let after: string | null = early.next; after !== null; )
      after = (await store.collectBlobs({ putBefore: Date.now() - 60_000, after })).next;
    expect(await files.countDocuments()).toBe(2);
    for (let after: string | null = null, first = true; first || after !== null; first = false)
      after = (await store.collectBlobs({ putBefore: Date.now() + 1000, after })).next;
    expect((await files.find().toArray()).map((f) => String(f._id))).not.toContain(String(orphan));
    expect(await files.countDocuments()).toBe(1);
    expect(await db.collection('blobs.chunks').countDocuments({ files_id: orphan })).toBe(0);
    expect(await store.openBlob(kept.sha256)).not.toBeNull();
  });
});
