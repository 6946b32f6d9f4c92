import { MongoClient } from 'mongodb';

/**
 * Every document of every collection of a MongoDB-wire database, as JSON sorted by collection and
 * `_id`: two equal snapshots show that nothing was written in between (runs, jobs, decisions,
 * hints, events, logs). The `wakeups` collection is left out: it holds no state, only the last
 * time each coordinator told the others to look (a deploy's event can be announced a moment after
 * the request that stored it answered).
 */
export async function databaseSnapshot(uri: string, dbName: string): Promise<string> {
  const client = new MongoClient(uri);
  try {
    const db = client.db(dbName);
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    const snapshot: Record<string, unknown[]> = {};
    for (const name of names) {
      if (name === 'wakeups') continue;
      const docs = await db.collection(name).find({}).toArray();
      snapshot[name] = docs.sort((a, b) => String(a._id).localeCompare(String(b._id)));
    }
    return JSON.stringify(snapshot);
  } finally {
    await client.close();
  }
}
