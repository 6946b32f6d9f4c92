import { type CommandStartedEvent, type Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll } from 'vitest';
import { type FerretDB, startFerretDB } from '../../../../../test/helpers/ferretdb.js';
import type { Store } from '../types.js';
import { type MongoStoreOptions, createMongoStore } from './index.js';

/**
 * What the MongoDB store's tests on FerretDB share (one concern per file: jobs, job hints,
 * wake-ups, decisions, ...). Not part of the package: excluded from its build, like the store's
 * contract.
 */
export interface FerretStoreKit {
  /** The file's FerretDB, once started. */
  ferretDB(): FerretDB;
  /** The URI of the file's FerretDB. */
  ferretUri(): string;
  /** A database name no other test uses. */
  freshDbName(): string;
  /** A client of `uri` for the test's own looks at the database, closed after the file. */
  adminOf(uri: string): MongoClient;
  /** A store on its own database; closing it drops the database. */
  freshStore(uri: string, options?: Partial<MongoStoreOptions>): Promise<Store>;
  /**
   * Runs `body` on a store of a fresh database whose client reports each command it starts to
   * `onCommand`; then closes the store, drops the database and closes the client.
   */
  withWatchedStore(
    onCommand: (event: CommandStartedEvent) => void,
    body: (store: Store, db: Db) => Promise<void>,
    options?: Partial<MongoStoreOptions>,
  ): Promise<void>;
}

/**
 * Starts one FerretDB for the calling test file (every store gets a database of its own, dropped
 * when it closes) and stops it after the file.
 */
export function ferretStoreKit(): FerretStoreKit {
  let ferret: FerretDB | undefined;
  const admins = new Map<string, MongoClient>();
  let databases = 0;

  beforeAll(async () => {
    try {
      ferret = await startFerretDB();
    } catch (error) {
      const where = process.env.CI ? 'CI must provide FerretDB' : 'these tests need FerretDB';
      throw new Error(
        `${where}: run scripts/install-ferretdb.sh (or set HIVEFORGE_FERRETDB_BIN). ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...admins.values()].map((admin) => admin.close()));
    await ferret?.stop();
  });

  const freshDbName = () => `hf_${process.pid}_${Date.now().toString(36)}_${databases++}`;
  const ferretDB = () => {
    if (!ferret) throw new Error('FerretDB is not running (see the beforeAll error)');
    return ferret;
  };
  const ferretUri = () => ferretDB().uri;
  const adminOf = (uri: string) => {
    let admin = admins.get(uri);
    if (!admin) {
      admin = new MongoClient(uri);
      admins.set(uri, admin);
    }
    return admin;
  };

  return {
    ferretDB,
    ferretUri,
    freshDbName,
    adminOf,
    async freshStore(uri, options = {}) {
      const dbName = options.dbName ?? freshDbName();
      const store = await createMongoStore({ uri, dbName, ...options });
      return {
        ...store,
        async close() {
          await store.close();
          await adminOf(uri).db(dbName).dropDatabase();
        },
      };
    },
    async withWatchedStore(onCommand, body, options = {}) {
      const dbName = freshDbName();
      const client = new MongoClient(ferretUri(), { monitorCommands: true });
      client.on('commandStarted', onCommand);
      const store = await createMongoStore({ uri: 'unused', dbName, client, ...options });
      try {
        await body(store, client.db(dbName));
      } finally {
        await store.close();
        await client.db(dbName).dropDatabase();
        await client.close();
      }
    },
  };
}

/** How many documents each `insert`, or statements each `update`, on `collection` carried. */
export function batchSizes(command: 'insert' | 'update', collection: string) {
  const sizes: number[] = [];
  const field = command === 'insert' ? 'documents' : 'updates';
  const onCommand = (event: CommandStartedEvent) => {
    if (event.commandName === command && event.command[command] === collection)
      sizes.push((event.command[field] as unknown[]).length);
  };
  return { sizes, onCommand };
}

/** Resolves with how long it took when `topic` is next woken up in `store`, rejects after `ms`. */
export const nextWakeup = (store: Store, topic: string, ms: number) =>
  new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no wake-up on '${topic}' within ${ms} ms`));
    }, ms);
    const off = store.subscribe(topic, () => {
      clearTimeout(timer);
      off();
      resolve(Date.now() - started);
    });
  });

/** Waits `ms` of real time. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
