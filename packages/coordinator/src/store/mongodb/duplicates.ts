/**
 * Duplicate-key errors: how a lost race on a unique `_id` shows, which the store reads as an
 * answer (the other writer won), never as a failure.
 */
import { MongoBulkWriteError, MongoError } from 'mongodb';

/** The MongoDB error code of a duplicate key. */
export const DUPLICATE_KEY = 11000;

/** True when `error` is a duplicate-key error. */
export const isDuplicateKey = (error: unknown): boolean => error instanceof MongoError && error.code === DUPLICATE_KEY;

/**
 * True when an unordered insert failed only because some documents existed already. The driver
 * wraps every failure of a bulk write in a `MongoBulkWriteError`, a lost connection or a busy
 * server too, with no write errors and no duplicate-key code: that is not "only duplicates" (it
 * would drop the documents the insert never wrote). Write errors must all be duplicates, or, with
 * none, the error's own code must be.
 */
export function isOnlyDuplicates(error: unknown): error is MongoBulkWriteError {
  if (!(error instanceof MongoBulkWriteError) || error.result?.getWriteConcernError()) return false;
  if (error.code !== undefined && error.code !== DUPLICATE_KEY) return false;
  const writeErrors = (Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]).filter(Boolean);
  // FerretDB may answer an insert of documents that all exist with one duplicate-key error for
  // the whole command: the driver then has no write errors, but the code says it.
  if (writeErrors.length === 0) return error.code === DUPLICATE_KEY;
  return writeErrors.every((e) => e.code === DUPLICATE_KEY);
}

/** The first write error of a bulk write. */
export const firstWriteError = (error: MongoBulkWriteError) =>
  Array.isArray(error.writeErrors) ? error.writeErrors[0] : error.writeErrors;
