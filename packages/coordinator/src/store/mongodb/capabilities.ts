/**
 * What the server can do, found out when a store opens: the store adapts to a server that
 * serves only `_id` filters from an index (FerretDB) without knobs on the port.
 */
import type { Collection, Db } from 'mongodb';
import { isMongoUnavailable } from './driver-errors.js';
import type { MongoJobIndexKind } from './job-index.js';

/** True when the server is FerretDB (its `buildInfo` says so). */
export async function isFerretDB(db: Db): Promise<boolean> {
  const info = await db.command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string';
}

/**
 * Whether the server finds a document by `_id` through the `_id` index. FerretDB's `explain`
 * shows SQLite's plan: `SEARCH … USING INDEX` when it does, `SCAN` when it reads the table.
 */
export async function idLookupsUseIndex(collection: Collection<{ _id: string }>): Promise<boolean> {
  try {
    const plan = await collection.find({ _id: 'hiveforge-probe' }).explain();
    return /USING (COVERING )?INDEX/.test(JSON.stringify(plan.queryPlanner ?? plan));
  } catch {
    return false;
  }
}

/** The collection the job index probe queries (an index, and no documents). */
const PROBE_COLLECTION = 'capability_probe';

/**
 * Which job index fits the server (see `job-index.ts`): `indexed` when its planner serves a
 * query on a secondary compound index from that index, `hinted` when it does not. The probe
 * creates `{ state: 1, readyAt: 1 }` on an empty collection and asks `explain` for the plan of
 * `find({ state: 'queued' }).sort({ readyAt: 1 })`: MongoDB answers with an `IXSCAN` stage;
 * FerretDB on SQLite answers with SQLite's plan, a scan of the table.
 */
export async function probeJobIndex(db: Db): Promise<MongoJobIndexKind> {
  const probe = db.collection(PROBE_COLLECTION);
  try {
    await probe.createIndex({ state: 1, readyAt: 1 });
    const plan = await probe.find({ state: 'queued' }).sort({ readyAt: 1 }).limit(1).explain();
    return JSON.stringify(plan.queryPlanner ?? plan).includes('"IXSCAN"') ? 'indexed' : 'hinted';
  } catch (error) {
    // A server that cannot say (no `explain`, no index) is treated as one that indexes only `_id`.
    if (isMongoUnavailable(error)) throw error;
    return 'hinted';
  }
}
