/**
 * The move of artifacts stored before blobs existed: their bytes were files of the GridFS bucket
 * `artifacts`, named by the record's `_file`. See docs/store.md, "Blobs".
 */
import { type Db, GridFSBucket, type ObjectId } from 'mongodb';
import type { Clock } from '../../clock.js';
import { createMongoBlobs, isFileNotFound } from './blobs.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

/** The old bucket's name. */
export const OLD_ARTIFACTS_BUCKET = 'artifacts';
/** The decision that says `migrateArtifactsBucket` ran to its end on a database. */
export const ARTIFACTS_BUCKET_MIGRATED = 'store:artifacts-bucket/migrated';

interface OldArtifactDoc {
  _id: string;
  _file?: ObjectId;
}

/**
 * Moves every artifact whose bytes are still in the old `artifacts` bucket into the blobs: its
 * file is streamed into a blob (identical content stored once), the record then names that blob
 * (`sha256`, `size`) and loses `_file`, and the old file is deleted. Runs when a store opens,
 * once per database: the decision `ARTIFACTS_BUCKET_MIGRATED` records that it ran to its end,
 * and later starts only read that. Coordinators starting at once may each copy a file: the
 * blob put keeps one copy, the record's update is guarded by its `_file` (both write the same),
 * and a file already deleted is fine. A record whose old file is missing keeps `_file` (its
 * download answers that its bytes are missing, as before). The new blob is unnamed only until
 * its record's update, far within the blob sweep's grace period.
 * @returns the number of artifacts this call moved
 */
export async function migrateArtifactsBucket(db: Db, clock: Clock): Promise<number> {
  const decisions = db.collection<{ _id: string; at: number; data: object }>(Collections.decisions);
  if (await decisions.findOne({ _id: ARTIFACTS_BUCKET_MIGRATED })) return 0;
  const records = db.collection<OldArtifactDoc>(Collections.artifacts);
  const bucket = new GridFSBucket(db, { bucketName: OLD_ARTIFACTS_BUCKET, writeConcern: { w: 'majority' } });
  const blobs = createMongoBlobs({ db, call: (_what, operation) => operation(), now: () => clock.now() });
  let moved = 0;
  let complete = true;
  const old = await records.find({ _file: { $exists: true } }, { projection: { _id: 1, _file: 1 } }).toArray();
  for (const { _id, _file: file } of old) {
    if (!file) continue;
    let blob: { sha256: string; size: number };
    try {
      blob = await blobs.putBlob(bucket.openDownloadStream(file), { what: `artifact '${_id}'` });
    } catch (error) {
      // putBlob reports GridFS's failure as the store's, with the driver's error as its cause.
      if (!isFileNotFound(error) && !isFileNotFound((error as { cause?: unknown }).cause)) throw error;
      // Another coordinator moved it meanwhile (its record no longer names the file), or the
      // bytes were lost before: then the record stays as it is.
      const current = await records.findOne({ _id });
      if (current?._file?.equals(file)) complete = false;
      continue;
    }
    const { modifiedCount } = await records.updateOne(
      { _id, _file: file },
      { $set: { sha256: blob.sha256, size: blob.size }, $unset: { _file: '' } },
    );
    moved += modifiedCount;
    await bucket.delete(file).catch((error: unknown) => {
      if (!isFileNotFound(error)) throw error;
    });
  }
  if (complete)
    await decisions
      .insertOne({ _id: ARTIFACTS_BUCKET_MIGRATED, at: clock.now(), data: { moved } })
      .catch((error: unknown) => {
        if (!isDuplicateKey(error)) throw error;
      });
  return moved;
}
