import { pipeline } from 'node:stream/promises';
import { StoreUnavailableError, isHiveForgeError } from '@hiveforge/sdk';
import { GridFSBucket, MongoError, ObjectId } from 'mongodb';
import { type BlobStore, createBlobMeter, isSha256 } from '../blobs.js';
import type { MongoStoreContext } from './context.js';

/** The collection of blob records (by SHA-256); GridFS adds `blobs.files` and `blobs.chunks`. */
export const BlobCollections = { blobs: 'blobs' } as const;

/**
 * GridFS chunk size of blobs: 1 MiB (GridFS's default is 255 KiB), so a 1 GiB artifact is about
 * 1,000 chunk documents rather than 4,000, each well under the 16 MiB document limit.
 */
export const BLOB_CHUNK_BYTES = 1024 * 1024;

/** A blob's record in `blobs`. */
export interface BlobDoc {
  _id: string;
  /** The GridFS file holding the bytes. */
  file: ObjectId;
  size: number;
  createdAt: number;
  /** Its last put (stored, or identical content stored again): collection compares it. Absent: `createdAt`. */
  putAt?: number;
}

const DUPLICATE_KEY = 11000;
/**
 * True for GridFS's answer about a file that is not there: a download's (`ENOENT`, "FileNotFound:
 * ...") or a delete's ("File not found for id ...", which another coordinator's delete may cause).
 */
export const isFileNotFound = (error: unknown): boolean =>
  error instanceof MongoError &&
  (error.code === 'ENOENT' || /^(FileNotFound|File not found for id)/.test(error.message));

/**
 * The MongoDB store's blobs (see `BlobStore`): bytes streamed into a GridFS file of the `blobs`
 * bucket, then a record `{ _id: sha256, file }` in `blobs` inserted to name it. The insert is the
 * decision: when another put of the same content won, this one's file is deleted, nothing new is
 * stored, and the winner's `putAt` is set to now (a new use of it, which collection respects).
 * A crash between the file and the record leaves an unnamed file, never a record without bytes.
 */
export function createMongoBlobs(options: Pick<MongoStoreContext, 'db' | 'call' | 'now'>): BlobStore {
  const { db, call } = options;
  const blobs = db.collection<BlobDoc>(BlobCollections.blobs);
  const bucket = new GridFSBucket(db, {
    bucketName: BlobCollections.blobs,
    writeConcern: { w: 'majority' },
    chunkSizeBytes: BLOB_CHUNK_BYTES,
  });
  const dropFile = (file: ObjectId) =>
    bucket.delete(file).catch((error: unknown) => {
      if (!isFileNotFound(error)) throw error;
    });
  return {
    async putBlob(source, putOptions = {}) {
      const file = new ObjectId();
      const meter = createBlobMeter(putOptions);
      const upload = bucket.openUploadStreamWithId(file, 'blob');
      const stages = putOptions.verify ? [putOptions.verify, meter] : [meter];
      try {
        await pipeline([source, ...stages, upload] as never);
      } catch (error) {
        await call('putBlob (dropping a refused upload)', () => dropFile(file)).catch(() => {});
        if (isHiveForgeError(error) || !(error instanceof MongoError)) throw error;
        throw new StoreUnavailableError(`storing a blob in GridFS failed: ${error.message}`, { cause: error });
      }
      const { sha256, size } = meter.result();
      return call(`putBlob ${sha256}`, async () => {
        for (;;) {
          const at = options.now();
          try {
            await blobs.insertOne({ _id: sha256, file, size, createdAt: at, putAt: at });
            return { sha256, size, created: true };
          } catch (error) {
            if (!(error instanceof MongoError && error.code === DUPLICATE_KEY)) throw error;
          }
          // There already: stamped as used now. Collected meanwhile (nothing matched): insert again.
          const winner = await blobs.findOneAndUpdate({ _id: sha256 }, { $set: { putAt: at } });
          if (!winner) continue;
          // An insert retried after a busy answer may find its own record: then the file is ours.
          if (winner.file.equals(file)) return { sha256, size, created: true };
          await dropFile(file);
          return { sha256, size, created: false };
        }
      });
    },
    async openBlob(sha256) {
      if (!isSha256(sha256)) return null;
      const doc = await call(`openBlob ${sha256}`, () => blobs.findOne({ _id: sha256 }));
      if (!doc) return null;
      return { size: doc.size, stream: bucket.openDownloadStream(doc.file) };
    },
    async deleteBlob(sha256) {
      if (!isSha256(sha256)) return;
      await call(`deleteBlob ${sha256}`, async () => {
        const doc = await blobs.findOneAndDelete({ _id: sha256 });
        if (doc) await dropFile(doc.file);
      });
    },
  };
}
