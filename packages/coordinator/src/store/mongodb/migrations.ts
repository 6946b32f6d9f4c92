/**
 * One-time data migrations a store runs when it opens. Each records in `decisions` (or by its
 * own result) that it ran, so later starts only check.
 */
import type { Db } from 'mongodb';
import type { Clock } from '../../clock.js';
import type { PipelineVersionRecord } from '../types.js';
import { type StoredDoc, decode, encode } from './codec.js';
import { isDuplicateKey } from './duplicates.js';
import { summaryOf } from './pipelines.js';
import { Collections } from './schema.js';

/** The decision that says `backfillPipelineHistory` ran to its end on a database. */
export const HISTORY_BACKFILLED = 'store:pipeline-history/backfilled';

/**
 * Writes the `pipeline_history` entry of every version stored without one (versions stored
 * before the collection existed), once per database: the decision `HISTORY_BACKFILLED` records
 * that it ran to its end, and later starts only read that. Coordinators starting at once may
 * each do it; entries are insert-only, keyed by the version.
 */
export async function backfillPipelineHistory(db: Db, clock: Clock): Promise<void> {
  const decisions = db.collection<StoredDoc>(Collections.decisions);
  if (await decisions.findOne({ _id: HISTORY_BACKFILLED })) return;
  const history = db.collection<StoredDoc>(Collections.pipelineHistory);
  const versions = db.collection<StoredDoc>(Collections.pipelineVersions);
  const listed = new Set((await history.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id));
  const ids = (await versions.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id);
  for (const id of ids.filter((id) => !listed.has(id))) {
    const doc = await versions.findOne({ _id: id });
    if (!doc) continue;
    const version = decode<PipelineVersionRecord>(doc);
    await history.insertOne(encode(summaryOf(version)) as StoredDoc).catch((error: unknown) => {
      if (!isDuplicateKey(error)) throw error;
    });
  }
  await decisions
    .insertOne({ _id: HISTORY_BACKFILLED, at: clock.now(), data: {} } as StoredDoc)
    .catch((error: unknown) => {
      if (!isDuplicateKey(error)) throw error;
    });
}
