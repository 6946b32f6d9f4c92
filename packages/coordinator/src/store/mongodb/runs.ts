import { ConflictError } from '@hiveforge/sdk';
import type { Filter } from 'mongodb';
import type { RunQuery, RunRecord, RunStore } from '../types.js';
import { type StoredDoc, decode, encode, setOf } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections } from './schema.js';

/**
 * The run methods of the MongoDB store. On FerretDB (`idOnlyFilters`) each pipeline's highest
 * run number is also kept in `run_numbers`, one read by `_id` instead of a query over all runs.
 */
export function createMongoRuns({ db, call, idOnlyFilters }: MongoStoreContext): RunStore {
  const runs = db.collection<StoredDoc>(Collections.runs);
  const runNumbers = db.collection<{ _id: string; last: number }>(Collections.runNumbers);
  return {
    insertRun(run) {
      return call(`insertRun ${run._id}`, async () => {
        try {
          await runs.insertOne(encode(run) as StoredDoc);
        } catch (error) {
          if (isDuplicateKey(error)) throw new ConflictError(`duplicate run ${run._id}`, { cause: error });
          throw error;
        }
        // FerretDB: the pipeline's highest run number, for `lastRunNumber`. Written after the
        // run: a crash in between leaves it behind, which costs the next trigger a lost
        // run-number decision, never a number used twice.
        if (idOnlyFilters)
          await runNumbers.updateOne({ _id: run.pipeline }, { $max: { last: run.number } }, { upsert: true });
      });
    },
    getRun(id) {
      return call(`getRun ${id}`, async () => {
        const doc = await runs.findOne({ _id: id });
        return doc ? decode<RunRecord>(doc) : null;
      });
    },
    updateRun(id, patch) {
      return call(`updateRun ${id}`, async () => {
        const fields = setOf(patch);
        if (fields) await runs.updateOne({ _id: id }, { $set: fields });
      });
    },
    listRuns(query: RunQuery) {
      return call('listRuns', async () => {
        const limit = Math.floor(query.limit);
        // A MongoDB limit of 0 means "no limit".
        if (!(limit > 0)) return [];
        const filter: Filter<StoredDoc> = {};
        if (query.pipeline !== undefined) filter.pipeline = query.pipeline;
        if (query.status !== undefined) filter.status = query.status;
        if (query.before !== undefined) filter.createdAt = { $lt: query.before };
        const docs = await runs.find(filter).sort({ createdAt: -1, number: -1, _id: -1 }).limit(limit).toArray();
        return docs.map((doc) => decode<RunRecord>(doc));
      });
    },
    lastRunNumber(pipeline) {
      return call(`lastRunNumber ${pipeline}`, async () => {
        // FerretDB: the query below reads every run stored; the `run_numbers` entry is one read.
        // A pipeline whose runs were stored without one (by an earlier version) is queried.
        const known = idOnlyFilters ? await runNumbers.findOne({ _id: pipeline }) : null;
        if (typeof known?.last === 'number') return known.last;
        const [doc] = await runs
          .find({ pipeline }, { projection: { number: 1 } })
          .sort({ number: -1 })
          .limit(1)
          .toArray();
        return typeof doc?.number === 'number' ? doc.number : 0;
      });
    },
  };
}
