import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ferretStoreKit } from './test-kit.js';

const { ferretUri, freshDbName, adminOf, freshStore } = ferretStoreKit();

describe('artifacts of the MongoDB store on FerretDB', () => {
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
});
