/**
 * The wrapper every store operation runs in: availability failures become
 * `StoreUnavailableError`, and an operation a busy server refused without doing it is tried again.
 */
import { StoreUnavailableError, isHiveForgeError } from '@hiveforge/sdk';
import { isMongoBusy, isMongoUnavailable, isSocketFailure } from './driver-errors.js';

/** Runs one store operation, translating availability failures. */
export type StoreCall = <T>(what: string, operation: () => Promise<T>) => Promise<T>;

/** Delays before trying an operation again that a busy server refused without doing it. */
const BUSY_RETRY_DELAYS_MS = [2, 5, 10, 20, 40, 80, 160, 320, 640];

/** The message of a thrown value. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The URI with its password hidden, for messages. */
export const redact = (uri: string): string => uri.replace(/\/\/([^@/]*)@/, '//***@');

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options of `createStoreCall`. */
export interface StoreCallOptions {
  /** Where the server is, for messages (a redacted URI). */
  where: string;
  /** True once the store is closed: calls then fail at once. */
  isClosed: () => boolean;
}

/** Creates the store's `call` wrapper. */
export function createStoreCall({ where, isClosed }: StoreCallOptions): StoreCall {
  const callOnce = async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      if (isHiveForgeError(error)) throw error;
      if (isMongoUnavailable(error) || isSocketFailure(error)) {
        throw new StoreUnavailableError(`MongoDB at ${where} is unavailable (${what}): ${messageOf(error)}`, {
          cause: error,
        });
      }
      throw error;
    }
  };
  return async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    if (isClosed()) throw new StoreUnavailableError(`the MongoDB store is closed (${what})`);
    for (let attempt = 0; ; attempt++) {
      try {
        return await callOnce(what, operation);
      } catch (error) {
        // A busy server (FerretDB's SQLite answers "database is locked" under write contention)
        // did nothing: the same operation is safe to try again.
        if (!isMongoBusy(error)) throw error;
        if (attempt >= BUSY_RETRY_DELAYS_MS.length) {
          throw new StoreUnavailableError(`MongoDB at ${where} is busy (${what}): ${messageOf(error)}`, {
            cause: error,
          });
        }
        await sleep(BUSY_RETRY_DELAYS_MS[attempt] as number);
      }
    }
  };
}
