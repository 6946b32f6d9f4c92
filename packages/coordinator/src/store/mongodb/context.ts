import type { Db } from 'mongodb';
import type { Clock } from '../../clock.js';
import type { Background } from './background.js';
import type { StoreCall } from './call.js';

/** What the parts of the MongoDB store share: the database, the call wrapper, background work. */
export interface MongoStoreContext {
  db: Db;
  call: StoreCall;
  background: Background;
  /**
   * FerretDB (1.x) serves a filter from an index only when it is exactly `{ _id: <value> }`;
   * any other filter, even `{ _id, state }`, reads the whole collection. On such a server,
   * guarded updates read the document by `_id`, check the guard, and update by `_id` alone.
   * (FerretDB applies an update as read-then-replace, so the guard in the filter was not atomic
   * there either.) On MongoDB the guard stays in the filter, where it is atomic.
   */
  idOnlyFilters: boolean;
  /** The store's time: hint and wake-up stamps, ages, migrations' records. */
  clock: Clock;
  /** The time of decisions: `clock.now`, unless the deprecated option `now` says otherwise. */
  now: () => number;
}
