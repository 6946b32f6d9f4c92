import { createHash, randomBytes } from 'node:crypto';
import { GridFSBucket, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FerretDB, startFerretDB } from '../../../../../test/helpers/ferretdb.js';
import { ARTIFACTS_BUCKET_MIGRATED, OLD_ARTIFACTS_BUCKET } from './artifacts-bucket.js';
import { createMongoStore } from './store.js';

let ferret: FerretDB | undefined;
let client: MongoClient | undefined;
beforeAll(async () => {
  ferret = await startFerretDB();
  client = await new MongoClient(ferret.uri).connect();
}, 60_000);
afterAll(async () => {
  await client?.close();
  await ferret?.stop();
});

const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

describe('artifacts of the old GridFS bucket `artifacts` (FerretDB)', () => {
  it('are moved into blobs when stores open, once, with several coordinators starting at once', async () => {
    const dbName = `hf_old_artifacts_${process.pid}`;
    const db = (client as MongoClient).db(dbName);
    await db.dropDatabase();
    // Written as a store before blobs did: bytes in bucket `artifacts`, the record naming the file.
    const bucket = new GridFSBucket(db, { bucketName: OLD_ARTIFACTS_BUCKET });
    const data = randomBytes(600 * 1024);
    const writeOld = async (id: string, bytes: Buffer | null) => {
      const file = new ObjectId();
      if (bytes)
        await new Promise<void>((resolve, reject) =>
          bucket
            .openUploadStreamWithId(file, id)
            .end(bytes, (error?: Error | null) => (error ? reject(error) : resolve())),
        );
      const [runId, name] = [id.slice(0, id.lastIndexOf('/')), id.slice(id.lastIndexOf('/') + 1)];
      const record = {
        runId,
        name,
        jobId: 'j1',
        attempt: 1,
        size: bytes?.length ?? 5,
        sha256: sha256Of(bytes ?? Buffer.from('lost')),
        createdAt: 1000,
      };
      await db.collection<{ _id: string; _file: ObjectId }>('artifacts').insertOne({ _id: id, ...record, _file: file });
      return { _id: id, ...record };
    };
    const dist = await writeOld('web/1/dist', data);
    const copy = await writeOld('web/2/dist', data);
    const lost = await writeOld('web/3/dist', null);

    const stores = await Promise.all([1, 2, 3].map(() => createMongoStore({ uri: (ferret as FerretDB).uri, dbName })));
    try {
      const [store] = stores as [(typeof stores)[number]];
      expect(await store.getArtifact(dist._id)).toEqual(dist);
      expect(await store.getArtifact(copy._id)).toEqual(copy);
      const opened = await store.openBlob(dist.sha256);
      expect(opened?.size).toBe(data.length);
      expect((await readAll(opened?.stream as NodeJS.ReadableStream)).equals(data)).toBe(true);
      // Stored once; the old files are gone, the records no longer name them.
      expect(await db.collection('blobs').countDocuments()).toBe(1);
      expect(await db.collection(`${OLD_ARTIFACTS_BUCKET}.files`).countDocuments()).toBe(0);
      expect(await db.collection(`${OLD_ARTIFACTS_BUCKET}.chunks`).countDocuments()).toBe(0);
      expect(await db.collection('artifacts').countDocuments({ _file: { $exists: true } })).toBe(1);
      // The artifact whose old bytes were already missing stays as it was (its download says so).
      expect(await store.getArtifact(lost._id)).toEqual(lost);
      expect(await store.openBlob(lost.sha256)).toBeNull();
      // Not complete while a record still names an old file; then a later start finishes it.
      expect(await db.collection('decisions').findOne({ _id: ARTIFACTS_BUCKET_MIGRATED } as never)).toBeNull();
      await db.collection<{ _id: string }>('artifacts').deleteOne({ _id: lost._id });
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
    const again = await createMongoStore({ uri: (ferret as FerretDB).uri, dbName });
    try {
      expect(await db.collection('decisions').findOne({ _id: ARTIFACTS_BUCKET_MIGRATED } as never)).not.toBeNull();
      expect(await again.getArtifact(dist._id)).toEqual(dist);
      expect(await db.collection('blobs').countDocuments()).toBe(1);
    } finally {
      await again.close();
      await db.dropDatabase();
    }
  });
});
