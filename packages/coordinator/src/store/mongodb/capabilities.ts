/**
 * What the server can do, found out when a store opens: the store adapts to a server that
 * serves only `_id` filters from an index (FerretDB) without knobs on the port.
 */
import type { Collection, Db } from 'mongodb';

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
