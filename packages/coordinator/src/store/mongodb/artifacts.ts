import type { ArtifactRecord, ArtifactStore } from '../types.js';
import { HIDDEN, type StoredDoc, decode, encode } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

/**
 * The artifact records of the MongoDB store, in `artifacts`; each names its archive's blob by
 * SHA-256 (the bytes are in the blob storage, `blobs.ts`). Records written before blobs also
 * carry `_file`, a file of the old `artifacts` GridFS bucket: hidden, never returned.
 */
export function createMongoArtifacts({ db, call }: MongoStoreContext): ArtifactStore {
  const artifactMeta = db.collection<StoredDoc>(Collections.artifacts);
  return {
    putArtifact(meta) {
      return call(`putArtifact ${meta._id}`, async () => {
        const replace = () => artifactMeta.replaceOne({ _id: meta._id }, encode(meta), { upsert: true });
        try {
          await replace();
        } catch (error) {
          // Two upserts of a new id at once: the loser's insert meets the winner's; replace it.
          if (!isDuplicateKey(error)) throw error;
          await replace();
        }
      });
    },
    getArtifact(id) {
      return call(`getArtifact ${id}`, async () => {
        const doc = await artifactMeta.findOne({ _id: id });
        return doc ? decode<ArtifactRecord>(doc, HIDDEN.artifacts) : null;
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
