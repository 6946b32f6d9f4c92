import { type Collection, type Document, MongoBulkWriteError, type OptionalUnlessRequiredId } from 'mongodb';
import { type GroupCommitOptions, type ItemOutcome, createGroupCommit } from '../group-commit.js';
import { DUPLICATE_KEY } from './duplicates.js';

/** What an insert of one document came to: stored, or there already (a duplicate `_id`). */
export type Inserted = 'inserted' | 'duplicate';

/**
 * Group-committed unordered inserts into a collection (see `createGroupCommit`): the inserts made
 * while the last was on its way go as one `insertMany`. A document whose `_id` exists already is
 * `duplicate`; a document that failed otherwise fails its call with the bulk error.
 */
export function insertGroup<D extends Document>(collection: Collection<D>, options: GroupCommitOptions = {}) {
  return createGroupCommit<D, Inserted>(async (docs) => {
    const inserted: ItemOutcome<Inserted>[] = docs.map(() => ({ ok: true, value: 'inserted' }));
    try {
      await collection.insertMany(docs as OptionalUnlessRequiredId<D>[], { ordered: false });
      return inserted;
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || error.result?.getWriteConcernError()) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (writeErrors.length === 0) throw error;
      for (const e of writeErrors) {
        inserted[e.index] = e.code === DUPLICATE_KEY ? { ok: true, value: 'duplicate' } : { ok: false, error };
      }
      return inserted;
    }
  }, options);
}
