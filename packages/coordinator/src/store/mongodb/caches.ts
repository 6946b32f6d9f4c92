/**
 * The caches aggregate on MongoDB: entry records in `cache_entries` (the `_id` names the entry,
 * so the insert that wins saves the key), their archives in the GridFS bucket `cache_blobs`.
 */
import { GridFSBucket, MongoError, ObjectId, WriteConcern } from 'mongodb';
import { type CacheEntryRecord, type CacheStore, byPipelineThenKey } from '../ports/caches.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

interface CacheEntryDoc extends CacheEntryRecord {
  /** The GridFS file of the archive. */
  _file: ObjectId;
}

const isFileNotFound = (error: unknown) =>
  error instanceof MongoError && (error.code === 'ENOENT' || error.message.startsWith('FileNotFound'));

const recordOf = ({ _file: _ignored, ...entry }: CacheEntryDoc): CacheEntryRecord => entry;

/**
 * The caches part of the MongoDB store. Restores read a pipeline's entries of one version (the
 * `{ pipeline, version }` index; FerretDB reads the collection, a few hundred small records).
 */
export function createMongoCaches({ db, call }: MongoStoreContext): CacheStore {
  const majority = new WriteConcern('majority');
  const entries = db.collection<CacheEntryDoc>(Collections.cacheEntries, { writeConcern: majority });
  const bucket = new GridFSBucket(db, { bucketName: Collections.cacheBlobs, writeConcern: majority });
  const upload = (fileId: ObjectId, filename: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const stream = bucket.openUploadStreamWithId(fileId, filename);
      stream.once('finish', () => resolve());
      stream.once('error', reject);
      stream.end(data);
    });
  const download = async (fileId: ObjectId): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const part of bucket.openDownloadStream(fileId)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  };
  const deleteFile = (fileId: ObjectId) =>
    bucket.delete(fileId).catch((error: unknown) => {
      if (!isFileNotFound(error)) throw error;
    });
  return {
    insertCacheEntry(entry, data) {
      return call(`insertCacheEntry ${entry._id}`, async () => {
        // The archive is stored before the record that points at it: a reader never finds a
        // record without bytes. The loser of two saves of one key removes its own file.
        const fileId = new ObjectId();
        await upload(fileId, entry._id, data);
        try {
          await entries.insertOne({ ...entry, _file: fileId });
          return true;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          await deleteFile(fileId);
          return false;
        }
      });
    },
    findCacheEntries(query) {
      return call(`findCacheEntries ${query.pipeline}`, async () => {
        const docs = await entries
          .find({ pipeline: query.pipeline, version: query.version, scope: { $in: [...query.scopes] } })
          .toArray();
        return docs.map(recordOf);
      });
    },
    getCacheEntry(id) {
      return call(`getCacheEntry ${id}`, async () => {
        const doc = await entries.findOne({ _id: id });
        if (!doc) return null;
        try {
          return { entry: recordOf(doc), data: await download(doc._file) };
        } catch (error) {
          // Evicted between the two reads: as absent as an entry never saved.
          if (isFileNotFound(error)) return null;
          throw error;
        }
      });
    },
    touchCacheEntry(id, at) {
      return call(`touchCacheEntry ${id}`, async () => {
        await entries.updateOne({ _id: id, lastUsedAt: { $lt: at } }, { $set: { lastUsedAt: at } });
      });
    },
    listCacheEntries(pipeline) {
      return call(`listCacheEntries ${pipeline ?? ''}`, async () => {
        const docs = await entries.find(pipeline === undefined ? {} : { pipeline }).toArray();
        return docs.map(recordOf).sort(byPipelineThenKey);
      });
    },
    removeCacheEntry(id) {
      return call(`removeCacheEntry ${id}`, async () => {
        const doc = await entries.findOne({ _id: id });
        if (!doc) return false;
        // Whoever deletes the record removes its file.
        const { deletedCount } = await entries.deleteOne({ _id: id });
        if (deletedCount === 1) await deleteFile(doc._file);
        return deletedCount === 1;
      });
    },
  };
}
