import type { Filter } from 'mongodb';
import type { ScheduleRecord, ScheduleStore } from '../types.js';
import { type StoredDoc, decode, setOf } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { Collections } from './schema.js';
import { upsert } from './upsert.js';

/** The schedule methods of the MongoDB store. */
export function createMongoSchedules({ db, call, idOnlyFilters }: MongoStoreContext): ScheduleStore {
  const schedules = db.collection<StoredDoc>(Collections.schedules);
  return {
    putSchedule(schedule) {
      return call(`putSchedule ${schedule._id}`, () => upsert(schedules, schedule));
    },
    getSchedule(id) {
      return call(`getSchedule ${id}`, async () => {
        const doc = await schedules.findOne({ _id: id });
        return doc ? decode<ScheduleRecord>(doc) : null;
      });
    },
    listSchedules(pipeline) {
      return call('listSchedules', async () => {
        const docs = await schedules.find(pipeline === undefined ? {} : { pipeline }).toArray();
        // Sorted here, to order ids exactly as the memory adapter does.
        return docs
          .map((doc) => decode<ScheduleRecord>(doc))
          .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
      });
    },
    updateSchedule(id, patch, expectedNextFireAt) {
      return call(`updateSchedule ${id}`, async () => {
        const fields = setOf(patch);
        const filter: Filter<StoredDoc> = { _id: id };
        if (expectedNextFireAt !== undefined) {
          if (idOnlyFilters) {
            // See `idOnlyFilters`: check on a read by `_id`. Not atomic there, and it need not
            // be: the tick decisions, not this projection, decide what fires.
            const doc = await schedules.findOne({ _id: id });
            if (!doc || (doc.nextFireAt ?? null) !== expectedNextFireAt) return false;
          } else filter.nextFireAt = expectedNextFireAt;
        }
        if (!fields) return (await schedules.countDocuments(filter, { limit: 1 })) === 1;
        return (await schedules.updateOne(filter, { $set: fields })).matchedCount === 1;
      });
    },
    findDueSchedules(at, limit) {
      return call('findDueSchedules', async () => {
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const docs = await schedules
          .find({ enabled: true, nextFireAt: { $lte: at } })
          .sort({ nextFireAt: 1, _id: 1 })
          .limit(n)
          .toArray();
        return docs.map((doc) => decode<ScheduleRecord>(doc));
      });
    },
  };
}
