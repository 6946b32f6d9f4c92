/**
 * The caches aggregate on MongoDB: entry records in `cache_entries` (the `_id` names the entry,
 * so the insert that wins saves the key); their archives are the store's blobs (GridFS bucket
 * `blobs`, shared with artifacts: identical content is stored once).
 */
import { type CacheEntryRecord, type CacheStore, byPipelineThenKey } from '../ports/caches.js';
import { createMongoBlobs } from './blobs.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

/**
 * The caches part of the MongoDB store. Restores read a pipeline's entries of one version (the
 * `{ pipeline, version }` index; FerretDB reads the collection, a few hundred small records).
 */
export function createMongoCaches(ctx: MongoStoreContext): CacheStore {
  const { db, call } = ctx;
  const entries = db.collection<CacheEntryRecord>(Collections.cacheEntries, { writeConcern: { w: 'majority' } });
  const blobs = createMongoBlobs(ctx);
  return {
    putCacheBlob: (source, options) => blobs.putBlob(source, options),
    openCacheBlob: (sha256) => blobs.openBlob(sha256),
    insertCacheEntry(entry) {
      return call(`insertCacheEntry ${entry._id}`, async () => {
        try {
          await entries.insertOne({ ...entry });
          return true;
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          return false;
        }
      });
    },
    findCacheEntries(query) {
      return call(`findCacheEntries ${query.pipeline}`, () =>
        entries.find({ pipeline: query.pipeline, version: query.version, scope: { $in: [...query.scopes] } }).toArray(),
      );
    },
    getCacheEntry(id) {
      return call(`getCacheEntry ${id}`, () => entries.findOne({ _id: id }));
    },
    touchCacheEntry(id, at) {
      return call(`touchCacheEntry ${id}`, async () => {
        await entries.updateOne({ _id: id, lastUsedAt: { $lt: at } }, { $set: { lastUsedAt: at } });
      });
    },
    listCacheEntries(pipeline) {
      return call(`listCacheEntries ${pipeline ?? ''}`, async () =>
        (await entries.find(pipeline === undefined ? {} : { pipeline }).toArray()).sort(byPipelineThenKey),
      );
    },
    removeCacheEntry(id) {
      return call(`removeCacheEntry ${id}`, async () => {
        const doc = await entries.findOne({ _id: id });
        if (!doc) return null;
        const { deletedCount } = await entries.deleteOne({ _id: id });
        return deletedCount === 1 ? doc : null;
      });
    },
  };
}
