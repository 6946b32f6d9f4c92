import type { Filter } from 'mongodb';
import type { GroupCommitOptions } from '../group-commit.js';
import type { EventRecord, EventStore } from '../types.js';
import { type StoredDoc, decode, encode } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { insertGroup } from './insert-group.js';
import { Collections } from './schema.js';

/**
 * Events feed watchers, and are appended after the change they report: while the store is busy,
 * an append waits this long for more before it is written, so that one command carries more of
 * them (see `GroupCommitOptions.lingerMs`). An idle store appends at once.
 */
const EVENTS_LINGER: GroupCommitOptions = { lingerMs: 20 };

/** The event log methods of the MongoDB store: read and pruned by `_id` ranges. */
export function createMongoEvents({ db, call }: MongoStoreContext): EventStore {
  const eventLog = db.collection<StoredDoc>(Collections.events);
  const insertEvents = insertGroup(eventLog, EVENTS_LINGER);
  return {
    appendEvents(list) {
      return call('appendEvents', async () => {
        // An event written again (a retried append) is a duplicate key: it is there already.
        await insertEvents(list.map((event) => encode(event) as StoredDoc));
      });
    },
    listEvents(query) {
      return call('listEvents', async () => {
        const n = Math.floor(query.limit);
        if (!(n > 0)) return [];
        const filter: Filter<StoredDoc> = query.after === undefined ? {} : { _id: { $gt: query.after } };
        const docs = await eventLog.find(filter).sort({ _id: 1 }).limit(n).toArray();
        return docs.map((doc) => decode<EventRecord>(doc));
      });
    },
    deleteEventsBefore(id) {
      return call('deleteEventsBefore', async () => (await eventLog.deleteMany({ _id: { $lt: id } })).deletedCount);
    },
  };
}
