import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FerretDB, startFerretDB } from '../../../../../test/helpers/ferretdb.js';
import type { BlobStore } from '../blobs.js';
import { describeBlobsContract } from '../contract/blobs.js';
import { BlobCollections, createMongoBlobs } from './blobs.js';
import { Readable } from 'node:stream';

let ferret: FerretDB | undefined;
let client: MongoClient | undefined;
const dbName = `hf_blobs_${process.pid}`;

beforeAll(async () => {
  ferret = await startFerretDB();
  client = await new MongoClient(ferret.uri).connect();
}, 60_000);
afterAll(async () => {
  await client?.db(dbName).dropDatabase();
  await client?.close();
  await ferret?.stop();
});

describe('MongoDB blob store (GridFS on FerretDB)', () => {
  let blobs: BlobStore;
  beforeEach(async () => {
    const db = (client as MongoClient).db(dbName);
    await db.dropDatabase();
    blobs = createMongoBlobs({
      db,
      call: (_what, operation) => operation(),
      now: Date.now,
    });
  });

  describeBlobsContract(() => blobs);

  it('a second put of the same content leaves one GridFS file; a refused put leaves none', async () => {
    const db = (client as MongoClient).db(dbName);
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    await blobs.putBlob(Readable.from([data]));
    await blobs.putBlob(Readable.from([data]));
    await blobs.putBlob(Readable.from([Buffer.from('other')]), { maxBytes: 1 }).catch(() => {});
    expect(await db.collection(`${BlobCollections.blobs}.files`).countDocuments()).toBe(1);
    expect(await db.collection(`${BlobCollections.blobs}.chunks`).countDocuments()).toBe(3);
    expect(await db.collection(BlobCollections.blobs).countDocuments()).toBe(1);
  });
});
