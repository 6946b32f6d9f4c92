import { ConflictError, StoreUnavailableError } from '@hiveforge/sdk';
import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoParseError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isMongoBusy, isMongoUnavailable, storeUnavailableOf } from './driver-errors.js';

/** A server error as the driver builds it from a reply. */
const serverError = (code: number, errmsg: string, errorLabels: string[] = []) =>
  new MongoServerError({ ok: 0, code, errmsg, errorLabels });

/** The `MongoBulkWriteError` the driver throws for an `insertMany` whose command failed (bulk/common.js). */
const bulkWrapping = (error: Error) => new MongoBulkWriteError(error as never, {} as never);

describe('MongoDB driver errors: unavailable (retryable) or not', () => {
  it.each([
    ['a closed connection', new MongoNetworkError('connection 13 to 127.0.0.1:27017 closed')],
    ['a reset connection', new MongoNetworkError('read ECONNRESET')],
    ['a socket timeout', new MongoNetworkTimeoutError('connection 2 to 127.0.0.1:27017 timed out')],
    [
      'no server selected in time',
      new MongoServerSelectionError('Server selection timed out after 30000 ms', {} as never),
    ],
    ['a client not connected', new MongoNotConnectedError('Client must be connected before running operations')],
    ['a closed topology', new MongoTopologyClosedError()],
    ['a closed client', new MongoClientClosedError()],
    ['a closed server', new MongoServerClosedError()],
    ['an operation past its timeoutMS', new MongoOperationTimeoutError('Timed out during server selection')],
    [
      'a write concern not satisfied',
      new MongoWriteConcernError({
        ok: 1,
        writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' },
      } as never),
    ],
    ['NotWritablePrimary (an election)', serverError(10107, 'not primary')],
    ['NotPrimaryNoSecondaryOk', serverError(13435, 'not master and secondaryOk=false')],
    ['PrimarySteppedDown', serverError(189, 'primary stepped down')],
    ['InterruptedDueToReplStateChange', serverError(11602, 'operation was interrupted')],
    ['ShutdownInProgress', serverError(91, 'the server is shutting down')],
    ['NotPrimaryOrSecondary (node is recovering)', serverError(13436, 'node is recovering')],
    ['HostUnreachable', serverError(6, 'host unreachable')],
    ['NetworkTimeout', serverError(89, 'network timeout')],
    ['ExceededTimeLimit', serverError(262, 'operation exceeded time limit')],
    ['MaxTimeMSExpired', serverError(50, 'operation exceeded time limit')],
    ['a legacy "node is recovering" without a code', new MongoServerError({ ok: 0, errmsg: 'node is recovering' })],
    ['a retryable write error label', serverError(1, 'whatever', ['RetryableWriteError'])],
    ['a pool reset label', serverError(1, 'whatever', ['ResetPool'])],
    [
      'a bulk write whose connection closed',
      bulkWrapping(new MongoNetworkError('connection 7 to 127.0.0.1:27017 closed')),
    ],
    [
      'an error caused by a closed connection',
      new Error('failed', { cause: new MongoNetworkError('connection 1 closed') }),
    ],
  ])('%s is unavailable', (_name, error) => {
    expect(isMongoUnavailable(error)).toBe(true);
    const mapped = storeUnavailableOf(error, { what: 'getJob j', where: 'mongodb://db' });
    expect(mapped).toBeInstanceOf(StoreUnavailableError);
    expect(mapped).toMatchObject({ code: 'HF_STORE_UNAVAILABLE', retryable: true, cause: error });
    expect(mapped?.message).toMatch(/^MongoDB at mongodb:\/\/db is unavailable \(getJob j\): /);
  });

  it.each([
    ['a duplicate key', serverError(11000, 'E11000 duplicate key error collection: hf.decisions index: _id_')],
    [
      'an insertMany with duplicate keys',
      new MongoBulkWriteError(
        { message: 'E11000 duplicate key error', code: 11000, writeErrors: [{ index: 0, code: 11000 }] } as never,
        {} as never,
      ),
    ],
    ['a validation error', serverError(121, 'Document failed validation')],
    ['a bad query', serverError(2, 'unknown operator: $foo')],
    ['an unauthorized command', serverError(13, 'command find requires authentication')],
    ['a bad connection string', new MongoParseError('Invalid scheme')],
    ['a plain error', new Error('connection closed')],
    ['a HiveForge error', new ConflictError('duplicate run')],
    ['nothing', undefined],
  ])('%s is not unavailable', (_name, error) => {
    expect(isMongoUnavailable(error)).toBe(false);
    expect(storeUnavailableOf(error)).toBeNull();
  });

  it('a busy FerretDB (SQLite locked) is busy, not unavailable', () => {
    const locked = serverError(1, 'database is locked (SQLITE_BUSY)');
    expect(isMongoBusy(locked)).toBe(true);
    expect(isMongoUnavailable(locked)).toBe(false);
    expect(isMongoBusy(new MongoNetworkError('connection closed'))).toBe(false);
  });
});
