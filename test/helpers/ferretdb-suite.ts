import { MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { type FerretDB, startFerretDB } from './ferretdb.js';

/** FerretDB for the tests of one `describe` block: see {@link ferretDBForSuite}. */
export interface SuiteFerretDB {
  /** Runs `fn` on a database of its own, dropped afterwards. */
  withDatabase<T>(prefix: string, fn: (db: { uri: string; dbName: string }) => Promise<T>): Promise<T>;
}

let suiteDatabases = 0;

/**
 * Starts FerretDB before the tests of the calling `describe` block and stops it after them.
 * @example
 * ```ts
 * const ferret = ferretDBForSuite();
 * it('...', () => ferret.withDatabase('hf_x', async ({ uri, dbName }) => { ... }));
 * ```
 */
export function ferretDBForSuite(): SuiteFerretDB {
  let ferret: FerretDB | undefined;
  beforeAll(async () => {
    ferret = await startFerretDB();
  }, 60_000);
  afterAll(async () => {
    await ferret?.stop();
  });
  return {
    async withDatabase(prefix, fn) {
      if (!ferret) throw new Error('FerretDB is not running (see the beforeAll error)');
      const { uri } = ferret;
      const dbName = `${prefix}_${process.pid}_${Date.now().toString(36)}_${suiteDatabases++}`;
      try {
        return await fn({ uri, dbName });
      } finally {
        const admin = new MongoClient(uri);
        await admin.db(dbName).dropDatabase();
        await admin.close();
      }
    },
  };
}
