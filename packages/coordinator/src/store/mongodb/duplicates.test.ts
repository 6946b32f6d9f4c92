import { MongoBulkWriteError, MongoNetworkError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isOnlyDuplicates } from './duplicates.js';

// The driver's own constructor, as its bulk writes call it (the result is not read here).
const bulkError = (error: ConstructorParameters<typeof MongoBulkWriteError>[0]) =>
  new MongoBulkWriteError(error, undefined as unknown as ConstructorParameters<typeof MongoBulkWriteError>[1]);

describe('isOnlyDuplicates', () => {
  it('an unordered insert refused only for documents that exist already is only duplicates', () => {
    const writeErrors = [{ code: 11000 }, { code: 11000 }] as never;
    expect(isOnlyDuplicates(bulkError({ message: 'E11000 duplicate key', code: 11000, writeErrors }))).toBe(true);
    // As FerretDB may answer an insert whose documents all exist: one error for the command.
    expect(isOnlyDuplicates(bulkError(new MongoServerError({ message: 'E11000 duplicate key', code: 11000 })))).toBe(
      true,
    );
  });

  it('a bulk write that lost its connection, or that the server refused whole, is not: nothing says its documents were written', () => {
    // The driver wraps these in a MongoBulkWriteError with no write errors.
    expect(isOnlyDuplicates(bulkError(new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed')))).toBe(false);
    expect(isOnlyDuplicates(bulkError(new MongoServerError({ message: 'database is locked', code: 1 })))).toBe(false);
    const writeErrors = [{ code: 11000 }, { code: 121 }] as never;
    expect(isOnlyDuplicates(bulkError({ message: 'E11000 duplicate key', code: 11000, writeErrors }))).toBe(false);
  });
});
