import { ConfigError, StoreUnavailableError } from '@hiveforge/sdk';
import { type Clock, systemClock } from '../../clock.js';
import { MongoClient, ReadConcern, type WriteConcernSettings } from 'mongodb';
import type { Store } from '../types.js';
import { createMongoAgents } from './agents.js';
import { createMongoArtifacts } from './artifacts.js';
import { migrateArtifactsBucket } from './artifacts-bucket.js';
import { createMongoCaches } from './caches.js';
import { createMongoBlobCollection } from './blob-collection.js';
import { createMongoBlobs } from './blobs.js';
import { createBackground } from './background.js';
import { createStoreCall, messageOf, redact } from './call.js';
import { idLookupsUseIndex, isFerretDB, probeJobIndex } from './capabilities.js';
import type { MongoStoreContext } from './context.js';
import { createMongoDecisions } from './decisions.js';
import { isMongoUnavailable } from './driver-errors.js';
import { createMongoEvents } from './events.js';
import type { JobIndex, MongoJobIndexKind } from './job-index.js';
import { LIST_BY_ID_MAX, READY_PAGE_REUSE_MS } from './job-hints.js';
import { createHintedJobs } from './jobs-hinted.js';
import { createIndexedJobs, ensureJobIndexes } from './jobs-indexed.js';
import { createMongoLogs } from './logs.js';
import { backfillPipelineHistory } from './migrations.js';
import { createMongoPipelines } from './pipelines.js';
import { createMongoRuns } from './runs.js';
import { createMongoSchedules } from './schedules.js';
import { Collections, ensureIndexes } from './schema.js';
import { createMongoSecrets } from './secrets.js';
import { backfillTokenIds, createMongoTokens } from './tokens.js';
import { createMongoWakeups } from './wakeups.js';

/** Options of the MongoDB store. */
export interface MongoStoreOptions {
  /**
   * The connection string, e.g. `mongodb://db-0,db-1,db-2/?replicaSet=rs0`. Ignored when
   * `client` is given.
   */
  uri: string;
  /** The database holding HiveForge's collections. @default 'hiveforge' */
  dbName?: string;
  /**
   * How often, in milliseconds, to look for wake-ups notified by other processes. Polling
   * starts with the first `subscribe` and reads one document by `_id` per subscribed topic.
   * @default 100
   */
  pollInterval?: number;
  /**
   * An existing client to use instead of connecting to `uri`. The store does not close it.
   * The store still uses majority write and read concern on its database; leave the client's
   * `retryWrites` on (the driver's default).
   */
  client?: MongoClient;
  /**
   * The store's time: decision timestamps, hint and wake-up stamps and the ages the store
   * compares them with. Its timers (polling, purges, backoff) stay real timers.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * The time of decisions alone, as before `clock` existed.
   * @deprecated pass `clock`
   * @default clock.now
   */
  now?: () => number;
  /**
   * Deliver other processes' wake-ups through a change stream on `wakeups` where the server has
   * change streams (a replica set), and poll where it has not (FerretDB, a standalone server) or
   * when the stream fails. `false` always polls. See `wakeupMode()`.
   * @default true
   */
  changeStreams?: boolean;
  /**
   * How queued and leased jobs are found (see `job-index.ts` and docs/store.md, "Finding jobs"):
   * `indexed`, by queries on `jobs` served by compound indexes, or `hinted`, through small hint
   * collections, for servers that serve only `_id` lookups from an index. By default a probe at
   * start asks the server's planner (`explain`) whether it serves a compound index; forcing
   * `indexed` on such a server works, only slower. `jobIndex()` reports the one in use.
   * @default probed
   */
  jobIndex?: MongoJobIndexKind;
  /**
   * How job hints leave their collections (see "job hints"): `delete`d by `_id`, or marked
   * `gone` by an `update` and deleted in a periodic pass. By default `update` on a server that
   * reads the whole collection to find a document by `_id` (unpatched FerretDB 1.x, where a
   * delete by `_id` scans), `delete` everywhere else.
   * @default detected
   */
  retireHintsBy?: 'delete' | 'update';
  /**
   * For how long a full first page of ready hints is used again by later pulls instead of being
   * read again (see `READY_PAGE_REUSE_MS`); 0 reads it for every pull.
   * @default 100
   */
  readyPageReuseMs?: number;
  /**
   * On FerretDB, the largest run `listJobs` reads job by job by `_id` (see `LIST_BY_ID_MAX`);
   * larger runs are read by a query on `runId`.
   * @default 512
   */
  listByIdMax?: number;
}

const MAJORITY: WriteConcernSettings = { w: 'majority' };
const READ_MAJORITY = new ReadConcern('majority');

/**
 * The production Store on a MongoDB replica set (or any MongoDB-wire server, e.g. FerretDB).
 *
 * Every racing decision is an insert of a document with a unique `_id` into `decisions`: the
 * insert that wins decides, a loser gets a duplicate-key error and reads the winner. Guarded job
 * updates are `updateOne` with the guard in the filter (on FerretDB, checked on a read by `_id`
 * just before). Nothing relies on transactions or on findAndModify. Writes use `w: 'majority'`
 * and retryable writes; reads use majority read concern, so a decision read is one that
 * survives a failover.
 *
 * Queued and leased jobs are found by one of two job indexes, chosen by a probe at start (see
 * `job-index.ts`): queries served by compound indexes on MongoDB, or small hint collections
 * checked against the jobs on a server that serves nothing but `{ _id }` from an index
 * (FerretDB), so that no hot query reads all jobs there. `jobIndex()` tells which.
 *
 * Wake-ups are delivered locally at once and, for other processes, through one document per
 * topic in `wakeups`, which every store watches with a change stream where the server has them
 * (a replica set) and otherwise polls every `pollInterval` ms while it has subscribers (FerretDB,
 * or after the stream failed). `wakeupMode()` tells which.
 *
 * Connection and primary-selection failures surface as `StoreUnavailableError` (retryable).
 *
 * Each aggregate's methods live in a file of their own beside this one; this composes them.
 *
 * @example
 * ```ts
 * const store = await createMongoStore({ uri: 'mongodb://db-0,db-1,db-2/?replicaSet=rs0' });
 * const coordinator = await createCoordinator({ store, agentSecret });
 * ```
 */
export async function createMongoStore(options: MongoStoreOptions): Promise<Store> {
  const readyPageReuseMs = options.readyPageReuseMs ?? READY_PAGE_REUSE_MS;
  const listByIdMax = options.listByIdMax ?? LIST_BY_ID_MAX;
  const pollInterval = options.pollInterval ?? 100;
  if (!Number.isFinite(pollInterval) || pollInterval <= 0) {
    throw new ConfigError(`pollInterval must be a positive number of milliseconds, got ${pollInterval}`);
  }
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  const ownsClient = options.client === undefined;
  const where = ownsClient ? redact(options.uri) : 'the given MongoClient';
  let client: MongoClient;
  try {
    client =
      options.client ??
      new MongoClient(options.uri, {
        appName: 'hiveforge-coordinator',
        retryWrites: true,
        writeConcern: MAJORITY,
        readConcern: READ_MAJORITY,
      });
  } catch (error) {
    throw new ConfigError(`invalid MongoDB connection string ${where}: ${messageOf(error)}`, { cause: error });
  }

  const db = client.db(options.dbName ?? 'hiveforge', {
    writeConcern: MAJORITY,
    readConcern: READ_MAJORITY,
  });
  /** See `MongoStoreContext.idOnlyFilters`. */
  let idOnlyFilters = false;
  /** Whether hints are retired by marking them `gone` (see "job hints"), or deleted. */
  let retireByUpdate = false;
  let jobIndexKind: MongoJobIndexKind = 'hinted';
  try {
    await client.connect();
    await ensureIndexes(db);
    await backfillPipelineHistory(db, clock);
    await backfillTokenIds(db);
    await migrateArtifactsBucket(db, clock);
    idOnlyFilters = await isFerretDB(db);
    jobIndexKind = options.jobIndex ?? (await probeJobIndex(db));
    if (jobIndexKind === 'indexed') await ensureJobIndexes(db);
    retireByUpdate =
      options.retireHintsBy === undefined
        ? idOnlyFilters && !(await idLookupsUseIndex(db.collection<{ _id: string }>(Collections.readyJobs)))
        : options.retireHintsBy === 'update';
  } catch (error) {
    if (ownsClient) await client.close().catch(() => undefined);
    if (isMongoUnavailable(error)) {
      throw new StoreUnavailableError(`cannot reach MongoDB at ${where}: ${messageOf(error)}`, { cause: error });
    }
    throw error;
  }

  let closed = false;
  const isClosed = () => closed;
  const background = createBackground();
  const ctx: MongoStoreContext = {
    db,
    call: createStoreCall({ where, isClosed }),
    background,
    idOnlyFilters,
    clock,
    now,
  };
  const wakeups = await createMongoWakeups({
    db,
    background,
    isClosed,
    pollInterval,
    changeStreams: options.changeStreams !== false,
    clock,
  });
  const jobIndex: JobIndex =
    jobIndexKind === 'indexed'
      ? createIndexedJobs(ctx)
      : createHintedJobs(ctx, { retireByUpdate, readyPageReuseMs, listByIdMax, isClosed });

  return {
    ...createMongoDecisions(ctx),
    ...createMongoPipelines(ctx),
    ...createMongoRuns(ctx),
    ...jobIndex,
    ...createMongoLogs(ctx),
    ...createMongoArtifacts(ctx),
    ...createMongoCaches(ctx),
    ...createMongoBlobs(ctx),
    ...createMongoBlobCollection(ctx),
    ...createMongoAgents(ctx),
    ...createMongoTokens(db, ctx.call),
    ...createMongoSecrets(db, ctx.call),
    ...createMongoSchedules(ctx),
    ...createMongoEvents(ctx),
    wakeupMode: wakeups.wakeupMode,
    notify: wakeups.notify,
    subscribe: wakeups.subscribe,
    async ping() {
      await ctx.call('ping', () => db.command({ ping: 1 }));
    },
    async close() {
      if (closed) return;
      closed = true;
      jobIndex.close();
      await wakeups.close();
      await background.settled();
      if (ownsClient) await client.close();
    },
  };
}
