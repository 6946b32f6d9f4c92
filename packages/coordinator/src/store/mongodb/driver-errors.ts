/**
 * Which MongoDB driver errors mean "the store cannot answer now" (retryable) rather than "this
 * operation is wrong" (permanent): the one place that decides, for the MongoDB store's `call`
 * wrapper, the tRPC error mapping and the artifacts handler alike.
 *
 * It reads errors by their class names along the prototype chain, their codes and their labels,
 * and imports nothing of the driver at run time: the coordinator's API maps a raw driver error
 * that escaped a store without loading the driver, which the memory store never needs.
 */
import { StoreUnavailableError, isHiveForgeError } from '@hiveforge/sdk';

/**
 * Driver error classes (and their subclasses) that mean the server could not be reached, was
 * closed, timed out, or has no usable primary: the network error family (closed or reset
 * connections, socket timeouts, a cleared pool), server selection, closed clients and
 * topologies, operation timeouts, write concern failures.
 */
const UNAVAILABLE_CLASSES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoClientClosedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'MongoWriteConcernError',
  'MongoStalePrimaryError',
  'PoolClosedError',
  'PoolClearedError',
  'WaitQueueTimeoutError',
]);

/**
 * Server error codes that mean "no usable primary right now" or "it did not answer in time":
 * HostUnreachable 6, HostNotFound 7, MaxTimeMSExpired 50, WriteConcernFailed 64, NetworkTimeout
 * 89, ShutdownInProgress 91, FailedToSatisfyReadPreference 133,
 * ReadConcernMajorityNotAvailableYet 134, PrimarySteppedDown 189, ExceededTimeLimit 262,
 * SocketException 9001, LegacyNotPrimary 10058, NotWritablePrimary 10107, InterruptedAtShutdown
 * 11600, InterruptedDueToReplStateChange 11602, NotPrimaryNoSecondaryOk 13435,
 * NotPrimaryOrSecondary 13436.
 */
export const UNAVAILABLE_CODES: ReadonlySet<number> = new Set([
  6, 7, 50, 64, 89, 91, 133, 134, 189, 262, 9001, 10058, 10107, 11600, 11602, 13435, 13436,
]);

/** Error labels the driver puts on errors worth trying again once the server is back. */
const UNAVAILABLE_LABELS = [
  'RetryableWriteError',
  'ResetPool',
  'InterruptInUseConnections',
  'PoolRequstedRetry',
  'TransientTransactionError',
] as const;

/** Old servers say it only in words: "not master", "not primary", "node is recovering". */
const UNAVAILABLE_MESSAGE = /\bnot (master|primary)\b|node is recovering/i;

interface DriverErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  errorLabels?: unknown;
  errorResponse?: unknown;
  writeErrors?: unknown;
  result?: { getWriteConcernError?: () => unknown };
  cause?: unknown;
}

function hasUnavailableClass(error: object): boolean {
  for (let proto: object | null = error; proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && UNAVAILABLE_CLASSES.has(name)) return true;
  }
  return false;
}

function hasUnavailableLabel(error: DriverErrorLike): boolean {
  const labels = Array.isArray(error.errorLabels) ? (error.errorLabels as unknown[]) : [];
  return UNAVAILABLE_LABELS.some((label) => labels.includes(label));
}

/** Write errors of a bulk write (duplicate keys, validation): per document, never an outage. */
function hasWriteErrors(error: DriverErrorLike): boolean {
  const list = error.writeErrors;
  return Array.isArray(list) ? list.length > 0 : list != null && typeof list === 'object';
}

/**
 * True when a MongoDB driver error means the store cannot be reached, timed out, or has no
 * writable majority now: doing the same thing again later may succeed. A duplicate key, a
 * validation error or any other answer about the operation itself is not.
 *
 * A bulk write (`insertMany`, `bulkWrite`) wraps a driver error that is not about a document
 * (a closed connection) in a `MongoBulkWriteError` with the same message and the original as
 * its `errorResponse`: that original decides.
 */
export function isMongoUnavailable(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 4 || isHiveForgeError(error)) return false;
  const e = error as DriverErrorLike;
  // A bulk write that reached the server but not a majority: the server is there, the majority not.
  if (typeof e.result?.getWriteConcernError === 'function' && e.result.getWriteConcernError()) return true;
  if (hasWriteErrors(e)) return false;
  if (hasUnavailableClass(error)) return true;
  if (typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (hasUnavailableLabel(e)) return true;
  const isMongoError = typeof e.name === 'string' && e.name.startsWith('Mongo');
  if (isMongoError && typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  if (e.errorResponse instanceof Error && isMongoUnavailable(e.errorResponse, depth + 1)) return true;
  return e.cause !== undefined && isMongoUnavailable(e.cause, depth + 1);
}

/** Node's codes of a socket that was closed, reset, refused or timed out under the driver. */
const SOCKET_FAILURE_CODES: ReadonlySet<string> = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/**
 * True when a store operation failed with a bare Node socket error (the driver sometimes lets
 * one through unwrapped: `This socket has been ended by the other party`, EPIPE, as a killed
 * server's connection is written to). Only for errors of a store operation: a socket error
 * elsewhere (a client gone) is not the store's.
 */
export function isSocketFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SOCKET_FAILURE_CODES.has(code);
}

/**
 * True when a MongoDB-wire server refused an operation without doing it because it is busy
 * (FerretDB's SQLite backend answers "database is locked" under write contention): the same
 * operation is safe to send again at once.
 */
export function isMongoBusy(error: unknown): boolean {
  return /database is locked|SQLITE_BUSY/i.test((error as Error | null)?.message ?? '');
}

/**
 * The retryable `StoreUnavailableError` a driver error stands for, or null when it is not one
 * (`isMongoUnavailable`). `what` names the operation and `where` the server (no password) in
 * the message.
 * @example
 * catch (error) { throw storeUnavailableOf(error, { what: 'getJob j1' }) ?? error; }
 */
export function storeUnavailableOf(
  error: unknown,
  context: { what?: string; where?: string } = {},
): StoreUnavailableError | null {
  if (!isMongoUnavailable(error)) return null;
  const at = context.where ? ` at ${context.where}` : '';
  const during = context.what ? ` (${context.what})` : '';
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`MongoDB${at} is unavailable${during}: ${reason}`, { cause: error });
}
