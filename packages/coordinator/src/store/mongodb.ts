import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ConfigError, ConflictError, isHiveForgeError, StoreUnavailableError } from '@hiveforge/sdk';
import {
  type Collection,
  type Db,
  type Document,
  type Filter,
  GridFSBucket,
  MongoBulkWriteError,
  MongoClient,
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
  ObjectId,
  ReadConcern,
  type WriteConcernSettings,
} from 'mongodb';
import type {
  AgentRecord,
  ArtifactRecord,
  Decided,
  Decision,
  JobGuard,
  JobPatch,
  JobRecord,
  LogChunkRecord,
  PipelineRecord,
  PipelineVersionRecord,
  RunQuery,
  RunRecord,
  Store,
  TokenRecord,
} from './types.js';

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
   * starts with the first `subscribe` and reads one small indexed collection.
   * @default 100
   */
  pollInterval?: number;
  /**
   * An existing client to use instead of connecting to `uri`. The store does not close it.
   * The store still uses majority write and read concern on its database; leave the client's
   * `retryWrites` on (the driver's default).
   */
  client?: MongoClient;
  /** Clock used for decision timestamps. @default Date.now */
  now?: () => number;
}

/** The collections of the store; GridFS adds `artifacts.files` and `artifacts.chunks`. */
const Collections = {
  decisions: 'decisions',
  pipelineVersions: 'pipeline_versions',
  pipelines: 'pipelines',
  runs: 'runs',
  jobs: 'jobs',
  logChunks: 'log_chunks',
  artifacts: 'artifacts',
  agents: 'agents',
  tokens: 'tokens',
  wakeups: 'wakeups',
} as const;

/** Wake-ups older than this are deleted; they only matter for a few poll intervals. */
const WAKEUP_RETENTION_MS = 60_000;
/** How often one poller deletes expired wake-ups (servers without TTL indexes need it). */
const WAKEUP_PRUNE_INTERVAL_MS = 10_000;
/**
 * Wake-ups are read back this far behind the local clock, to tolerate insert latency and clock
 * skew between coordinators; ids already seen are not emitted twice.
 */
const WAKEUP_OVERLAP_MS = 2_000;
/** Delays before re-reading a decision that lost a race but is not yet majority-readable. */
const WINNER_READ_DELAYS_MS = [5, 10, 20, 50, 100, 200, 400, 800, 1_600];

const DUPLICATE_KEY = 11000;
/** Delays before trying an operation again that a busy server refused without doing it. */
const BUSY_RETRY_DELAYS_MS = [2, 5, 10, 20, 40, 80, 160, 320, 640];
const isBusy = (error: unknown): boolean =>
  /database is locked|SQLITE_BUSY/i.test((error as Error | null)?.message ?? '');
/**
 * Server error codes that mean "no usable primary right now": HostUnreachable, HostNotFound,
 * NetworkTimeout, ShutdownInProgress, WriteConcernFailed, PrimarySteppedDown,
 * SocketException, NotWritablePrimary, InterruptedAtShutdown, InterruptedDueToReplStateChange,
 * NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 89, 91, 64, 189, 9001, 10107, 11600, 11602, 13435, 13436]);

const MAJORITY: WriteConcernSettings = { w: 'majority' };
const READ_MAJORITY = new ReadConcern('majority');

interface StoredDoc {
  _id: string;
  [key: string]: unknown;
}

interface ArtifactDoc extends StoredDoc {
  /** The GridFS file holding the bytes. Internal: never returned. */
  _file: ObjectId;
}

interface WakeupDoc {
  _id: ObjectId;
  topic: string;
  at: Date;
  /** The store instance that notified, so that it does not wake its own subscribers twice. */
  origin: string;
}

/** Fields the adapter adds to documents for its own use and strips from what it returns. */
const HIDDEN = { jobs: ['_n'], artifacts: ['_file'] } as const;

// MongoDB (before 5.0) and FerretDB reject field names that contain '.' or start with '$', and
// BSON cannot hold NUL in a name. Records carry user-chosen keys (job outputs, env, inputs,
// decision data), so every key is escaped on the way in and unescaped on the way out. The
// schema's own top-level field names never need escaping, so queries on them are unaffected.
const UNSAFE_KEY = /[.%\0]|^\$/;
const ESCAPED_KEY = /%(25|2E|00|24)/g;

function escapeKey(key: string): string {
  if (!UNSAFE_KEY.test(key)) return key;
  return key.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\0/g, '%00').replace(/^\$/, '%24');
}

function unescapeKey(key: string): string {
  return key.includes('%')
    ? key.replace(ESCAPED_KEY, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    : key;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** A copy of `value` safe to store: keys escaped, `undefined` properties dropped (as in JSON). */
function encodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : encodeValue(item)));
  if (!isPlainObject(value)) return value;
  // Object.fromEntries defines own properties, so a '__proto__' key stays a key.
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [escapeKey(k), encodeValue(v)]),
  );
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [unescapeKey(k), decodeValue(v)]));
}

const encode = (value: object): Document => encodeValue(value) as Document;

/** A stored document as the record the memory adapter would return: hidden fields removed. */
function decode<T>(doc: Document, hidden: readonly string[] = []): T {
  const out = decodeValue(doc) as Record<string, unknown>;
  for (const key of hidden) delete out[key];
  return out as T;
}

/** A `$set` for a patch: `_id` never changes, and an empty patch sets nothing. */
function setOf(patch: object): Document | null {
  const fields = encode(patch);
  delete fields._id;
  return Object.keys(fields).length > 0 ? fields : null;
}

const isDuplicateKey = (error: unknown): boolean => error instanceof MongoError && error.code === DUPLICATE_KEY;

/** True when the error means the store cannot be reached or has no writable majority now. */
function isUnavailable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoClientClosedError ||
    error instanceof MongoWriteConcernError
  ) {
    return true;
  }
  if (!(error instanceof MongoError)) return false;
  if (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('ResetPool')) return true;
  if (error instanceof MongoBulkWriteError && error.result?.getWriteConcernError()) return true;
  return typeof error.code === 'number' && UNAVAILABLE_CODES.has(error.code);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The URI with its password hidden, for messages. */
const redact = (uri: string): string => uri.replace(/\/\/([^@/]*)@/, '//***@');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Creates the indexes the store's queries need. `createIndex` is idempotent, so every
 * coordinator does this at start.
 */
async function ensureIndexes(db: Db): Promise<void> {
  const plain: [string, Document, { unique?: boolean }?][] = [
    [Collections.jobs, { state: 1, readyAt: 1 }],
    [Collections.jobs, { runId: 1 }],
    [Collections.jobs, { agentId: 1, state: 1 }],
    [Collections.jobs, { state: 1, leaseExpiresAt: 1 }],
    // Descending where the query sorts newest first.
    [Collections.runs, { pipeline: 1, number: -1 }],
    [Collections.runs, { createdAt: -1 }],
    [Collections.runs, { status: 1, createdAt: -1 }],
    [Collections.logChunks, { jobId: 1, attempt: 1, seq: 1 }],
    [Collections.agents, { tokenHash: 1 }, { unique: true }],
    [Collections.artifacts, { runId: 1 }],
  ];
  for (const [name, keys, options] of plain) await db.collection(name).createIndex(keys, options ?? {});
  const wakeups = db.collection(Collections.wakeups);
  try {
    await wakeups.createIndex({ at: 1 }, { expireAfterSeconds: WAKEUP_RETENTION_MS / 1000 });
  } catch (error) {
    // FerretDB has no TTL indexes (and an operator may have changed the TTL): the pollers'
    // periodic delete removes old wake-ups either way, so an index on `at` is all that's needed.
    if (isUnavailable(error)) throw error;
    await wakeups.createIndex({ at: 1 }).catch((second: unknown) => {
      if (isUnavailable(second)) throw second;
    });
  }
}

/**
 * The production Store on a MongoDB replica set (or any MongoDB-wire server, e.g. FerretDB).
 *
 * Every racing decision is an insert of a document with a unique `_id` into `decisions`: the
 * insert that wins decides, a loser gets a duplicate-key error and reads the winner. Guarded job
 * updates are `updateOne` with the guard in the filter. Nothing relies on transactions or on
 * findAndModify. Writes use `w: 'majority'` and retryable writes; reads use majority read
 * concern, so a decision read is one that survives a failover.
 *
 * Wake-ups are delivered locally at once and, for other processes, through the `wakeups`
 * collection, which every store polls every `pollInterval` ms while it has subscribers.
 *
 * Connection and primary-selection failures surface as `StoreUnavailableError` (retryable).
 *
 * @example
 * ```ts
 * const store = await createMongoStore({ uri: 'mongodb://db-0,db-1,db-2/?replicaSet=rs0' });
 * const coordinator = await createCoordinator({ store, agentSecret });
 * ```
 */
export async function createMongoStore(options: MongoStoreOptions): Promise<Store> {
  const pollInterval = options.pollInterval ?? 100;
  if (!Number.isFinite(pollInterval) || pollInterval <= 0) {
    throw new ConfigError(`pollInterval must be a positive number of milliseconds, got ${pollInterval}`);
  }
  const now = options.now ?? Date.now;
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
  try {
    await client.connect();
    await ensureIndexes(db);
  } catch (error) {
    if (ownsClient) await client.close().catch(() => undefined);
    if (isUnavailable(error)) {
      throw new StoreUnavailableError(`cannot reach MongoDB at ${where}: ${messageOf(error)}`, { cause: error });
    }
    throw error;
  }

  const decisions = db.collection<StoredDoc>(Collections.decisions);
  const versions = db.collection<StoredDoc>(Collections.pipelineVersions);
  const pipelines = db.collection<StoredDoc>(Collections.pipelines);
  const runs = db.collection<StoredDoc>(Collections.runs);
  const jobs = db.collection<StoredDoc>(Collections.jobs);
  const logChunks = db.collection<StoredDoc>(Collections.logChunks);
  const artifactMeta = db.collection<ArtifactDoc>(Collections.artifacts);
  const agents = db.collection<StoredDoc>(Collections.agents);
  const tokens = db.collection<StoredDoc>(Collections.tokens);
  // Wake-ups are hints: a local read and a w:1 write are enough, and faster.
  const wakeups = db.collection<WakeupDoc>(Collections.wakeups, {
    readConcern: { level: 'local' },
    writeConcern: { w: 1 },
  });
  const bucket = new GridFSBucket(db, { bucketName: Collections.artifacts, writeConcern: MAJORITY });

  let closed = false;
  /** Runs one store operation, translating availability failures into StoreUnavailableError. */
  const call = async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    if (closed) throw new StoreUnavailableError(`the MongoDB store is closed (${what})`);
    for (let attempt = 0; ; attempt++) {
      try {
        return await callOnce(what, operation);
      } catch (error) {
        // A busy server (FerretDB's SQLite answers "database is locked" under write contention)
        // did nothing: the same operation is safe to try again.
        if (!isBusy(error)) throw error;
        if (attempt >= BUSY_RETRY_DELAYS_MS.length) {
          throw new StoreUnavailableError(`MongoDB at ${where} is busy (${what}): ${messageOf(error)}`, {
            cause: error,
          });
        }
        await sleep(BUSY_RETRY_DELAYS_MS[attempt] as number);
      }
    }
  };

  const callOnce = async <T>(what: string, operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      if (isHiveForgeError(error)) throw error;
      if (isUnavailable(error)) {
        throw new StoreUnavailableError(`MongoDB at ${where} is unavailable (${what}): ${messageOf(error)}`, {
          cause: error,
        });
      }
      throw error;
    }
  };

  /** Replaces or inserts a whole document; concurrent upserts of one `_id` can race, so retry once. */
  const upsert = async <T extends { _id: string }>(collection: Collection<StoredDoc>, record: T): Promise<void> => {
    const doc = encode(record) as StoredDoc;
    try {
      await collection.replaceOne({ _id: record._id }, doc, { upsert: true });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      await collection.replaceOne({ _id: record._id }, doc, { upsert: true });
    }
  };

  /**
   * Reads the decision that beat ours. Its insert may not be majority-committed yet when our
   * duplicate-key error arrives, so a majority read can briefly miss it: wait for it rather than
   * act on a decision that could still be rolled back.
   */
  const readWinner = async <T>(id: string): Promise<Decision<T>> => {
    for (const delay of [0, ...WINNER_READ_DELAYS_MS]) {
      if (delay > 0) await sleep(delay);
      const doc = await decisions.findOne({ _id: id });
      if (doc) return decode<Decision<T>>(doc);
    }
    throw new StoreUnavailableError(
      `decision '${id}' exists but is not readable with majority read concern; is a majority of the replica set up?`,
    );
  };

  const download = async (fileId: ObjectId): Promise<Buffer> => {
    const parts: Buffer[] = [];
    for await (const part of bucket.openDownloadStream(fileId)) parts.push(part as Buffer);
    return Buffer.concat(parts);
  };

  const upload = (fileId: ObjectId, filename: string, data: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const stream = bucket.openUploadStreamWithId(fileId, filename);
      stream.once('finish', () => resolve());
      stream.once('error', reject);
      stream.end(data);
    });

  const isFileNotFound = (error: unknown) =>
    error instanceof MongoError && (error.code === 'ENOENT' || error.message.startsWith('FileNotFound'));

  // ---- wake-ups ----

  const instanceId = randomUUID();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const pendingTopics = new Set<string>();
  const inflight = new Set<Promise<unknown>>();

  const track = (promise: Promise<unknown>) => {
    const settled = promise.catch(() => undefined).finally(() => inflight.delete(settled));
    inflight.add(settled);
  };

  /** Writes the topics notified since the last flush, one document each. */
  const flushWakeups = () => {
    if (pendingTopics.size === 0) return;
    const at = new Date();
    const docs = [...pendingTopics].map((topic) => ({ _id: new ObjectId(), topic, at, origin: instanceId }));
    pendingTopics.clear();
    // A lost wake-up costs latency, never correctness: waiters look again on their own.
    track(wakeups.insertMany(docs, { ordered: false }));
  };

  let pollTimer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;
  let pollerStarted = false;
  let watermark = 0;
  let lastPrune = 0;
  /** Ids of wake-ups already handled, with their time, while they are inside the read window. */
  const seen = new Map<string, number>();

  const pollOnce = async () => {
    const started = Date.now();
    if (started - lastPrune >= WAKEUP_PRUNE_INTERVAL_MS) {
      lastPrune = started;
      track(wakeups.deleteMany({ at: { $lt: new Date(started - WAKEUP_RETENTION_MS) } }));
    }
    if (events.eventNames().length === 0) {
      watermark = started - WAKEUP_OVERLAP_MS;
      return;
    }
    const docs = await wakeups
      .find({ at: { $gte: new Date(watermark) } }, { projection: { topic: 1, at: 1, origin: 1 } })
      .sort({ at: 1, _id: 1 })
      .toArray();
    const topics = new Set<string>();
    for (const doc of docs) {
      const key = doc._id.toHexString();
      if (seen.has(key)) continue;
      seen.set(key, doc.at.getTime());
      if (doc.origin !== instanceId) topics.add(doc.topic);
    }
    watermark = Math.max(watermark, started - WAKEUP_OVERLAP_MS);
    for (const [key, at] of seen) if (at < watermark) seen.delete(key);
    for (const topic of topics) {
      try {
        events.emit(topic);
      } catch {
        // A throwing listener must not stop the others or the poller.
      }
    }
  };

  const schedulePoll = () => {
    if (closed) return;
    pollTimer = setTimeout(() => {
      polling = pollOnce()
        .catch(() => undefined)
        .finally(() => {
          polling = null;
          schedulePoll();
        });
    }, pollInterval);
    pollTimer.unref();
  };

  const startPoller = () => {
    if (pollerStarted || closed) return;
    pollerStarted = true;
    // Wake-ups from just before the first subscription are delivered too: a spurious wake-up
    // is harmless, a missed one costs a waiter its fallback delay.
    watermark = Date.now() - WAKEUP_OVERLAP_MS;
    schedulePoll();
  };

  return {
    decide<T extends object>(id: string, data: T): Promise<Decided<T>> {
      return call(`decide ${id}`, async () => {
        const doc = { _id: id, at: now(), data: encodeValue(data) };
        try {
          await decisions.insertOne(doc);
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          return { won: false, decision: await readWinner<T>(id) };
        }
        return { won: true, decision: decode<Decision<T>>(doc) };
      });
    },
    getDecision<T>(id: string) {
      return call(`getDecision ${id}`, async () => {
        const doc = await decisions.findOne({ _id: id });
        return doc ? decode<Decision<T>>(doc) : null;
      });
    },

    putPipelineVersion(version) {
      return call(`putPipelineVersion ${version._id}`, async () => {
        try {
          await versions.insertOne(encode(version) as StoredDoc);
        } catch (error) {
          // Versions are content-addressed: the one stored first stays.
          if (!isDuplicateKey(error)) throw error;
        }
      });
    },
    getPipelineVersion(id) {
      return call(`getPipelineVersion ${id}`, async () => {
        const doc = await versions.findOne({ _id: id });
        return doc ? decode<PipelineVersionRecord>(doc) : null;
      });
    },
    setPipelineHead(name, versionId, at) {
      return call(`setPipelineHead ${name}`, () => upsert(pipelines, { _id: name, versionId, updatedAt: at }));
    },
    getPipeline(name) {
      return call(`getPipeline ${name}`, async () => {
        const doc = await pipelines.findOne({ _id: name });
        return doc ? decode<PipelineRecord>(doc) : null;
      });
    },
    listPipelines() {
      return call('listPipelines', async () => {
        const docs = await pipelines.find({}).toArray();
        // Sorted here, not by the server, to order names exactly as the memory adapter does.
        return docs.map((doc) => decode<PipelineRecord>(doc)).sort((a, b) => a._id.localeCompare(b._id));
      });
    },

    insertRun(run) {
      return call(`insertRun ${run._id}`, async () => {
        try {
          await runs.insertOne(encode(run) as StoredDoc);
        } catch (error) {
          if (isDuplicateKey(error)) throw new ConflictError(`duplicate run ${run._id}`, { cause: error });
          throw error;
        }
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
        const [doc] = await runs
          .find({ pipeline }, { projection: { number: 1 } })
          .sort({ number: -1 })
          .limit(1)
          .toArray();
        return typeof doc?.number === 'number' ? doc.number : 0;
      });
    },

    insertJobs(list) {
      return call('insertJobs', async () => {
        if (list.length === 0) return;
        const ids = list.map((job) => job._id);
        const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
        if (duplicate !== undefined) throw new ConflictError(`duplicate job ${duplicate}`);
        // Like the memory adapter, refuse the whole batch when any job exists already. (Job ids
        // come from a run-number decision, so two coordinators never insert the same jobs.)
        const [existing] = await jobs
          .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
          .limit(1)
          .toArray();
        if (existing) throw new ConflictError(`duplicate job ${existing._id}`);
        // `_n` keeps the jobs of a run in the order they were inserted (the spec's order).
        const docs: StoredDoc[] = list.map((job, i) => ({ ...encode(job), _id: job._id, _n: i }));
        try {
          await jobs.insertMany(docs, { ordered: true });
        } catch (error) {
          if (isDuplicateKey(error)) throw new ConflictError(`duplicate job in ${ids.join(', ')}`, { cause: error });
          throw error;
        }
      });
    },
    getJob(id) {
      return call(`getJob ${id}`, async () => {
        const doc = await jobs.findOne({ _id: id });
        return doc ? decode<JobRecord>(doc, HIDDEN.jobs) : null;
      });
    },
    listJobs(runId) {
      return call(`listJobs ${runId}`, async () => {
        const docs = await jobs.find({ runId }).toArray();
        return docs
          .sort((a, b) => Number(a._n) - Number(b._n) || a._id.localeCompare(b._id))
          .map((doc) => decode<JobRecord>(doc, HIDDEN.jobs));
      });
    },
    updateJob(id: string, patch: JobPatch, guard?: JobGuard) {
      return call(`updateJob ${id}`, async () => {
        const filter: Filter<StoredDoc> = { _id: id };
        if (guard?.states) filter.state = { $in: [...guard.states] };
        if (guard?.attempt !== undefined) filter.attempt = guard.attempt;
        const fields = setOf(patch);
        if (!fields) return (await jobs.countDocuments(filter, { limit: 1 })) === 1;
        const result = await jobs.updateOne(filter, { $set: fields });
        return result.matchedCount === 1;
      });
    },
    findQueuedJobs(limit) {
      return call('findQueuedJobs', async () => {
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const docs = await jobs.find({ state: 'queued' }).sort({ readyAt: 1, _id: 1 }).limit(n).toArray();
        return docs.map((doc) => decode<JobRecord>(doc, HIDDEN.jobs));
      });
    },
    findExpiredLeases(at, limit) {
      return call('findExpiredLeases', async () => {
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const docs = await jobs
          .find({ state: { $in: ['leased', 'running'] }, leaseExpiresAt: { $lt: at } })
          .sort({ leaseExpiresAt: 1, _id: 1 })
          .limit(n)
          .toArray();
        return docs.map((doc) => decode<JobRecord>(doc, HIDDEN.jobs));
      });
    },
    findJobsOfAgent(agentId) {
      return call(`findJobsOfAgent ${agentId}`, async () => {
        const docs = await jobs.find({ agentId, state: { $in: ['leased', 'running'] } }).toArray();
        return docs.map((doc) => decode<JobRecord>(doc, HIDDEN.jobs));
      });
    },

    appendLogChunks(chunks) {
      return call('appendLogChunks', async () => {
        if (chunks.length === 0) return 0;
        const docs = chunks.map((chunk) => encode(chunk) as StoredDoc);
        try {
          return (await logChunks.insertMany(docs, { ordered: false })).insertedCount;
        } catch (error) {
          // A resent chunk is a duplicate key: ignore those, count what was new.
          if (!(error instanceof MongoBulkWriteError) || error.result?.getWriteConcernError()) throw error;
          const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
          if (writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
          return error.insertedCount;
        }
      });
    },
    readLogChunks(jobId, after, limit = 1000) {
      return call(`readLogChunks ${jobId}`, async () => {
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const filter: Filter<StoredDoc> = after
          ? {
              jobId,
              $or: [{ attempt: { $gt: after.attempt } }, { attempt: after.attempt, seq: { $gt: after.seq } }],
            }
          : { jobId };
        const docs = await logChunks.find(filter).sort({ attempt: 1, seq: 1 }).limit(n).toArray();
        return docs.map((doc) => decode<LogChunkRecord>(doc));
      });
    },

    putArtifact(meta, data) {
      return call(`putArtifact ${meta._id}`, async () => {
        // The bytes go to a new GridFS file first; the metadata then points at it, so a reader
        // sees the old artifact or the new one, never a half-written one. The replaced file is
        // deleted afterwards (a crash in between leaves an orphan, never a dangling pointer).
        const fileId = new ObjectId();
        await upload(fileId, meta._id, data);
        const doc = { ...encode(meta), _file: fileId } as ArtifactDoc;
        const replace = () =>
          artifactMeta.findOneAndReplace({ _id: meta._id }, doc, { upsert: true, returnDocument: 'before' });
        let previous: ArtifactDoc | null;
        try {
          previous = await replace();
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          previous = await replace();
        }
        if (previous?._file && !previous._file.equals(fileId)) {
          await bucket.delete(previous._file).catch((error: unknown) => {
            if (!isFileNotFound(error)) throw error;
          });
        }
      });
    },
    getArtifact(id) {
      return call(`getArtifact ${id}`, async () => {
        // An overwrite may delete the file between reading the metadata and the bytes: then the
        // metadata already points at the new file, so read it again.
        for (let tries = 0; tries < 3; tries++) {
          const doc = await artifactMeta.findOne({ _id: id });
          if (!doc) return null;
          try {
            const data = await download(doc._file);
            return { meta: decode<ArtifactRecord>(doc, HIDDEN.artifacts), data };
          } catch (error) {
            if (!isFileNotFound(error)) throw error;
          }
        }
        throw new StoreUnavailableError(`the bytes of artifact '${id}' are missing from GridFS bucket 'artifacts'`);
      });
    },
    listArtifacts(runId) {
      return call(`listArtifacts ${runId}`, async () => {
        const docs = await artifactMeta.find({ runId }).sort({ createdAt: 1, _id: 1 }).toArray();
        return docs.map((doc) => decode<ArtifactRecord>(doc, HIDDEN.artifacts));
      });
    },

    putAgent(agent) {
      return call(`putAgent ${agent._id}`, async () => {
        try {
          await upsert(agents, agent);
        } catch (error) {
          if (isDuplicateKey(error)) {
            throw new ConflictError(`another agent than '${agent._id}' has the same token hash`, { cause: error });
          }
          throw error;
        }
      });
    },
    getAgent(id) {
      return call(`getAgent ${id}`, async () => {
        const doc = await agents.findOne({ _id: id });
        return doc ? decode<AgentRecord>(doc) : null;
      });
    },
    getAgentByTokenHash(hash) {
      return call('getAgentByTokenHash', async () => {
        const doc = await agents.findOne({ tokenHash: hash });
        return doc ? decode<AgentRecord>(doc) : null;
      });
    },
    updateAgent(id, patch) {
      return call(`updateAgent ${id}`, async () => {
        const fields = setOf(patch);
        if (!fields) return;
        try {
          await agents.updateOne({ _id: id }, { $set: fields });
        } catch (error) {
          if (isDuplicateKey(error)) {
            throw new ConflictError(`another agent than '${id}' has the same token hash`, { cause: error });
          }
          throw error;
        }
      });
    },
    listAgents() {
      return call('listAgents', async () => {
        const docs = await agents.find({}).sort({ registeredAt: 1, _id: 1 }).toArray();
        return docs.map((doc) => decode<AgentRecord>(doc));
      });
    },

    putToken(token) {
      return call('putToken', () => upsert(tokens, token));
    },
    getToken(hash) {
      return call('getToken', async () => {
        const doc = await tokens.findOne({ _id: hash });
        return doc ? decode<TokenRecord>(doc) : null;
      });
    },

    notify(topic) {
      if (!closed) {
        // Coalesce the notifications of one synchronous burst into one write.
        if (pendingTopics.size === 0) queueMicrotask(flushWakeups);
        pendingTopics.add(topic);
      }
      events.emit(topic);
    },
    subscribe(topic, listener) {
      events.on(topic, listener);
      startPoller();
      return () => {
        events.off(topic, listener);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (pollTimer) clearTimeout(pollTimer);
      flushWakeups();
      await polling;
      await Promise.all([...inflight]);
      events.removeAllListeners();
      if (ownsClient) await client.close();
    },
  };
}
