/**
 * The MongoDB store (`@hiveforge/coordinator/mongodb`): the production `Store` on a MongoDB
 * replica set or another MongoDB-wire server.
 *
 * @example
 * ```ts
 * import { createMongoStore } from '@hiveforge/coordinator/mongodb';
 * const store = await createMongoStore({ uri: 'mongodb://db-0,db-1,db-2/?replicaSet=rs0' });
 * ```
 */
export { HISTORY_BACKFILLED } from './migrations.js';
export { createMongoStore, type MongoStoreOptions } from './store.js';
