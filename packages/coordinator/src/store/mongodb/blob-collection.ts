/**
 * Blob collection on MongoDB (see `BlobCollectionStore`): blob records no artifact and no cache
 * entry names, last put before the cut-off, are deleted with their GridFS file; then GridFS files
 * of the `blobs` bucket that no blob record names (a put that died between its bytes and its
 * record), uploaded before the cut-off. See docs/operations.md, "Blob collection".
 */
import { GridFSBucket, ObjectId } from 'mongodb';
import { COLLECT_BLOBS_LIMIT, type BlobCollectionStore } from '../ports/blob-collection.js';
import { isSha256 } from '../blobs.js';
import { BlobCollections, type BlobDoc, isFileNotFound } from './blobs.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

/** The last put of a blob record (records from before `putAt` existed: their creation). */
const putAtOf = (doc: BlobDoc) => doc.putAt ?? doc.createdAt;

/**
 * Creates the MongoDB store's blob collection. The cursor of a pass is `b:<sha256>` while it
 * walks blob records (by `_id`), then `f:<ObjectId>` while it walks GridFS files.
 */
export function createMongoBlobCollection({ db, call }: Pick<MongoStoreContext, 'db' | 'call'>): BlobCollectionStore {
  const blobs = db.collection<BlobDoc>(BlobCollections.blobs);
  const files = db.collection<{ _id: ObjectId; uploadDate: Date }>(`${BlobCollections.blobs}.files`);
  const artifacts = db.collection(Collections.artifacts);
  const cacheEntries = db.collection(Collections.cacheEntries);
  const bucket = new GridFSBucket(db, { bucketName: BlobCollections.blobs, writeConcern: { w: 'majority' } });
  // Each operation is its own call (a busy server's refusal retries that one alone, never a
  // step that already deleted a record).
  const run = <T>(operation: () => Promise<T>) => call('collectBlobs', operation);
  const dropFile = (file: ObjectId) =>
    run(() =>
      bucket.delete(file).catch((error: unknown) => {
        if (!isFileNotFound(error)) throw error;
      }),
    );
  const named = async (sha256: string) =>
    Boolean(
      (await run(() => artifacts.findOne({ sha256 }, { projection: { _id: 1 } }))) ||
        (await run(() => cacheEntries.findOne({ sha256 }, { projection: { _id: 1 } }))),
    );

  /** One step through blob records. */
  const collectRecords = async (putBefore: number, after: string | null, limit: number) => {
    const page = await run(() =>
      blobs
        .find(after === null ? {} : { _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray(),
    );
    const deleted: string[] = [];
    for (const candidate of page) {
      if (!isSha256(candidate._id) || putAtOf(candidate) >= putBefore || (await named(candidate._id))) continue;
      // The record as it was when deleted says whether a put stamped it after it was read here
      // (identical content stored again, its record on its way): then it goes back.
      const gone = await run(() => blobs.findOneAndDelete({ _id: candidate._id }));
      if (!gone) continue;
      if (putAtOf(gone) >= putBefore) {
        try {
          await run(() => blobs.insertOne(gone));
        } catch (error) {
          // A put inserted its own record (with its own file) meanwhile: this file is not needed.
          if (!isDuplicateKey(error)) throw error;
          await dropFile(gone.file);
        }
        continue;
      }
      await dropFile(gone.file);
      deleted.push(gone._id);
    }
    return { deleted, next: page.length < limit ? null : (page.at(-1) as BlobDoc)._id };
  };

  /** One step through GridFS files: those no record names, uploaded before the cut-off, go. */
  const collectFiles = async (putBefore: number, after: ObjectId | null, limit: number) => {
    const page = await run(() =>
      files
        .find(after === null ? {} : { _id: { $gt: after } }, { projection: { _id: 1, uploadDate: 1 } })
        .sort({ _id: 1 })
        .limit(limit)
        .toArray(),
    );
    const old = page.filter((f) => f.uploadDate.getTime() < putBefore).map((f) => f._id);
    const kept = old.length
      ? new Set(
          (await run(() => blobs.find({ file: { $in: old } }, { projection: { file: 1 } }).toArray())).map((d) =>
            d.file.toHexString(),
          ),
        )
      : new Set<string>();
    for (const id of old) if (!kept.has(id.toHexString())) await dropFile(id);
    return page.length < limit ? null : (page.at(-1) as { _id: ObjectId })._id;
  };

  return {
    async collectBlobs({ putBefore, after = null, limit = COLLECT_BLOBS_LIMIT }) {
      if (after === null || after.startsWith('b:')) {
        const step = await collectRecords(putBefore, after?.slice(2) || null, limit);
        return { deleted: step.deleted, next: step.next === null ? 'f:' : `b:${step.next}` };
      }
      const from = after.slice(2);
      const next = await collectFiles(putBefore, ObjectId.isValid(from) ? new ObjectId(from) : null, limit);
      return { deleted: [], next: next === null ? null : `f:${next.toHexString()}` };
    },
  };
}
