import { ConflictError } from '@hiveforge/sdk';
import { type Collection, MongoBulkWriteError } from 'mongodb';
import type { StoredDoc } from './codec.js';
import { firstWriteError, isDuplicateKey, isOnlyDuplicates } from './duplicates.js';

/**
 * Inserts a batch of job documents as `insertJobs` does: all or none (a `ConflictError` names
 * the job stored already, and the ones inserted before it are taken back), or with
 * `keepExisting` every one not stored yet (those stored are kept as they are).
 */
export async function insertJobDocs(
  jobs: Collection<StoredDoc>,
  docs: readonly StoredDoc[],
  keepExisting: boolean,
): Promise<void> {
  if (keepExisting) {
    try {
      await jobs.insertMany([...docs], { ordered: false });
    } catch (error) {
      if (!isOnlyDuplicates(error)) throw error;
    }
    return;
  }
  try {
    await jobs.insertMany([...docs], { ordered: true });
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    // Like the memory adapter, refuse the whole batch: an ordered insert stopped at the job
    // that exists, so take back the ones before it. (Job ids come from a run-number
    // decision, so two coordinators never insert the same jobs; this is a caller's bug.)
    const ids = docs.map((doc) => doc._id);
    const failed = error instanceof MongoBulkWriteError ? firstWriteError(error)?.index : undefined;
    const inserted = failed === undefined ? [] : ids.slice(0, failed);
    await Promise.all(inserted.map((id) => jobs.deleteOne({ _id: id })));
    throw new ConflictError(`duplicate job ${failed === undefined ? ids.join(', ') : ids[failed]}`, {
      cause: error,
    });
  }
}
