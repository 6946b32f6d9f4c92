/**
 * How the MongoDB store finds queued and leased jobs: one interface, two implementations,
 * chosen by a capability probe when the store opens (see `probeJobIndex`):
 *
 * - `indexed` (`jobs-indexed.ts`): queries on `jobs` served by compound indexes, for servers
 *   that use secondary indexes (MongoDB). Renewals are written to the job.
 * - `hinted` (`jobs-hinted.ts`): small hint collections read whole, and jobs read by `_id`, for
 *   servers that serve nothing but `{ _id }` from an index (FerretDB on SQLite).
 *
 * Both keep the same contract (the store's job methods); the job documents are the truth in both.
 */
import type { JobIndexKind, JobStore } from '../types.js';

/** Which implementation finds a MongoDB store's queued and leased jobs. */
export type MongoJobIndexKind = Exclude<JobIndexKind, 'memory'>;

/** The job methods of the MongoDB store, as one job index implements them. */
export interface JobIndex extends JobStore {
  /** Stops its background work (a periodic purge); the store calls it on `close`. */
  close(): void;
}
