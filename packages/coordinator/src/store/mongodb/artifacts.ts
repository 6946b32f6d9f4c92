import { StoreUnavailableError } from '@hiveforge/sdk';
import { GridFSBucket, MongoError, ObjectId } from 'mongodb';
import { createPerKeyQueue } from '../per-key-queue.js';
import type { ArtifactRecord, ArtifactStore } from '../types.js';
import { HIDDEN, type StoredDoc, decode, encode } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

/** An artifact's metadata as stored. */
interface ArtifactDoc extends StoredDoc {
  /** The GridFS file holding the bytes. Internal: never returned. */
  _file: ObjectId;
}

const isFileNotFound = (error: unknown) =>
  error instanceof MongoError && (error.code === 'ENOENT' || error.message.startsWith('FileNotFound'));

/**
 * The artifact methods of the MongoDB store: the bytes in the GridFS bucket `artifacts`, the
 * metadata in `artifacts`, pointing at its file.
 */
export function createMongoArtifacts({ db, call }: MongoStoreContext): ArtifactStore {
  const artifactMeta = db.collection<ArtifactDoc>(Collections.artifacts);
  const bucket = new GridFSBucket(db, { bucketName: Collections.artifacts, writeConcern: { w: 'majority' } });

  const download = async (fileId: ObjectId): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const part of bucket.openDownloadStream(fileId)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  };

  const upload = (fileId: ObjectId, filename: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const stream = bucket.openUploadStreamWithId(fileId, filename);
      stream.once('finish', () => resolve());
      stream.once('error', reject);
      stream.end(data);
    });

  /** Writes one artifact: see `putArtifact`. */
  const artifactWrites = createPerKeyQueue();
  const putArtifactNow = (meta: ArtifactRecord, data: Buffer): Promise<void> =>
    call(`putArtifact ${meta._id}`, async () => {
      // The bytes go to a new GridFS file first; the metadata then points at it, so a reader
      // sees the old artifact or the new one, never a half-written one. The replaced file is
      // deleted afterwards (a crash in between leaves an orphan, never a dangling pointer).
      const fileId = new ObjectId();
      await upload(fileId, meta._id, data);
      const doc = { ...encode(meta), _file: fileId } as ArtifactDoc;
      const replace = () =>
        artifactMeta.findOneAndReplace({ _id: meta._id }, doc, { upsert: true, returnDocument: 'before' });
      let previous: ArtifactDoc | null;
      try {
        previous = await replace();
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        previous = await replace();
      }
      if (previous?._file && !previous._file.equals(fileId)) {
        await bucket.delete(previous._file).catch((error: unknown) => {
          if (!isFileNotFound(error)) throw error;
        });
      }
    });

  return {
    putArtifact(meta, data) {
      // Writes of one id from this store go one after another: FerretDB applies a
      // findOneAndReplace as a read then a write, so two at once could both see the same
      // previous file and leave the metadata pointing at a file the other deleted.
      return artifactWrites.run(meta._id, () => putArtifactNow(meta, data));
    },
    getArtifact(id) {
      return call(`getArtifact ${id}`, async () => {
        // An overwrite may delete the file between reading the metadata and the bytes: then the
        // metadata already points at the new file, so read it again.
        for (let tries = 0; tries < 3; tries++) {
          const doc = await artifactMeta.findOne({ _id: id });
          if (!doc) return null;
          try {
            const data = await download(doc._file);
            return { meta: decode<ArtifactRecord>(doc, HIDDEN.artifacts), data };
          } catch (error) {
            if (!isFileNotFound(error)) throw error;
          }
        }
        throw new StoreUnavailableError(`the bytes of artifact '${id}' are missing from GridFS bucket 'artifacts'`);
      });
    },
    listArtifacts(runId) {
      return call(`listArtifacts ${runId}`, async () => {
        const docs = await artifactMeta.find({ runId }).sort({ createdAt: 1, _id: 1 }).toArray();
        return docs.map((doc) => decode<ArtifactRecord>(doc, HIDDEN.artifacts));
      });
    },
  };
}
