import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { ConfigError, ConflictError, isHiveForgeError, StoreUnavailableError } from '@hiveforge/sdk';
import {
  Binary,
  type ChangeStream,
  type ChangeStreamDocument,
  type Collection,
  type Db,
  type Document,
  type Filter,
  GridFSBucket,
  type OptionalUnlessRequiredId,
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  ObjectId,
  ReadConcern,
  type WriteConcernSettings,
} from 'mongodb';
import { isMongoBusy, isMongoUnavailable } from './mongodb-driver-errors.js';
import { rotated } from './queued-order.js';
import { type GroupCommitOptions, type ItemOutcome, createGroupCommit } from './group-commit.js';
import { createPerKeyQueue } from './per-key-queue.js';
import { createMongoSecrets } from './mongodb-secrets.js';
import { backfillTokenIds, createMongoTokens } from './mongodb-tokens.js';
import type {
  AgentRecord,
  ArtifactRecord,
  Decided,
  Decision,
  EventRecord,
  JobGuard,
  JobPatch,
  JobRecord,
  LogChunkRecord,
  PipelineRecord,
  PipelineVersionQuery,
  PipelineVersionRecord,
  PipelineVersionSummary,
  QueueDepth,
  RunQuery,
  RunRecord,
  ScheduleRecord,
  Store,
  WakeupMode,
} from './types.js';
import { firstDuplicate, labelsFit } from './types.js';

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
  /** Clock used for decision timestamps. @default Date.now */
  now?: () => number;
  /**
   * Deliver other processes' wake-ups through a change stream on `wakeups` where the server has
   * change streams (a replica set), and poll where it has not (FerretDB, a standalone server) or
   * when the stream fails. `false` always polls. See `wakeupMode()`.
   * @default true
   */
  changeStreams?: boolean;
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

/**
 * Whether the server finds a document by `_id` through the `_id` index. FerretDB's `explain`
 * shows SQLite's plan: `SEARCH … USING INDEX` when it does, `SCAN` when it reads the table.
 */
async function idLookupsUseIndex(collection: Collection<{ _id: string }>): Promise<boolean> {
  try {
    const plan = await collection.find({ _id: 'hiveforge-probe' }).explain();
    return /USING (COVERING )?INDEX/.test(JSON.stringify(plan.queryPlanner ?? plan));
  } catch {
    return false;
  }
}

/** The collections of the store; GridFS adds `artifacts.files` and `artifacts.chunks`. */
const Collections = {
  decisions: 'decisions',
  pipelineVersions: 'pipeline_versions',
  pipelines: 'pipelines',
  pipelineHistory: 'pipeline_history',
  runs: 'runs',
  jobs: 'jobs',
  readyJobs: 'ready_jobs',
  activeJobs: 'active_jobs',
  runJobs: 'run_jobs',
  runNumbers: 'run_numbers',
  logChunks: 'log_chunks',
  artifacts: 'artifacts',
  agents: 'agents',
  tokens: 'tokens',
  wakeups: 'wakeups',
  schedules: 'schedules',
  events: 'events',
} as const;

/** The least time between two writes of one topic's wake-up by one store. */
const WAKEUP_MIN_SPACING_MS = 50;
/** The most a notification's `within` spaces the writes of its topic. */
const WAKEUP_MAX_SPACING_MS = 5_000;
/** Topics not notified for this long are deleted; a later notify creates them again. */
const WAKEUP_RETENTION_MS = 60_000;
/** How often one poller deletes old topics (servers without TTL indexes need it). */
const WAKEUP_PRUNE_INTERVAL_MS = 10_000;
/**
 * A topic a poller reads for the first time wakes its subscribers when another process notified
 * it this recently (by that process's clock), so that a wake-up sent just before a subscription
 * is not missed. It tolerates write latency and clock skew between coordinators.
 */
const WAKEUP_OVERLAP_MS = 2_000;
/**
 * A hint whose job is not (yet) in the state it points at is kept this long, because it may have
 * been written just before its job (`active_jobs` hints are; so were `ready_jobs` hints before
 * they copied their job, and a store of that version may still write them); after that it is an
 * orphan of a write that never happened, and readers delete it.
 */
const ORPHAN_HINT_MS = 60_000;
/**
 * The copy of its job a ready hint holds is taken without reading the job while the hint is
 * younger than this (see `QueuedJobsQuery.copies`). A hint whose job was leased is retired by the
 * lease's coordinator just after; one it did not retire (it died) costs the pulls that take its
 * copy a lost lease race each, until it is this old: then it is read like any hint, and retired.
 */
const COPY_TRUSTED_MS = 60_000;
/**
 * Events feed watchers, and are appended after the change they report: while the store is busy,
 * an append waits this long for more before it is written, so that one command carries more of
 * them (see `GroupCommitOptions.lingerMs`). An idle store appends at once.
 */
const EVENTS_LINGER: GroupCommitOptions = { lingerMs: 20 };
/**
 * The `active_jobs` hint of an attempt that ended is retired after the job's update, and nobody
 * waits on it; until it goes, readers check it against its job like any hint, and find it stale.
 * While the store is busy a retirement waits this long for more, like an event append. (Ready
 * hints are retired at once: the queue depth counts them.)
 */
const ACTIVE_RETIRE_LINGER: GroupCommitOptions = { lingerMs: 20 };
/** How many documents a reader reads by `_id` at once (the jobs of hints, a run's jobs). */
const HINT_READ_BATCH = 32;
/**
 * How many of the oldest ready hints a pull reads first, then next: a page costs the server in
 * proportion to its hints (FerretDB decodes each), so the first is small. Only when fewer than it
 * needs of the larger one fit its labels (and are not skipped) does it read them all.
 */
const READY_PAGES = [16, 128] as const;
/**
 * A full first page of ready hints is used again by the pulls of the next this many ms instead
 * of being read again: under load, pulls come one after another, and the oldest hints do not
 * change but by leases (which the pulls skip, or find out by their lease decision, or by the job
 * read a candidate gets when its copy is not taken).
 * Jobs that become ready meanwhile are younger than every hint of a full page, so none is
 * passed over. A pull that finds nothing it can take in a page used again reads it afresh.
 */
const READY_PAGE_REUSE_MS = 100;
/** At most this many agents' token hashes are remembered by a store (then all are forgotten). */
const AGENT_IDS_BY_TOKEN_HASH = 4_096;
/** How often a store deletes the hints it and others retired (on servers where deletes scan). */
const HINT_PURGE_INTERVAL_MS = 2_000;
/**
 * On servers that serve only `_id` filters from an index (FerretDB), `listJobs` reads the jobs
 * of a run of at most this many jobs one by one by `_id`, from the run's `run_jobs` entry: a
 * query on `runId` there reads every job stored, so its cost grows with the history, while the
 * reads by `_id` cost as many reads as the run has jobs. A larger run is read by the query.
 */
const LIST_BY_ID_MAX = 512;
/** `listJobs` re-creates the missing hints of a run's jobs at most this often per run. */
const HINT_REPAIR_INTERVAL_MS = 5_000;
/** Delays before re-reading a decision that lost a race but is not yet majority-readable. */
const WINNER_READ_DELAYS_MS = [5, 10, 20, 50, 100, 200, 400, 800, 1_600];

const DUPLICATE_KEY = 11000;
/** Delays before trying an operation again that a busy server refused without doing it. */
const BUSY_RETRY_DELAYS_MS = [2, 5, 10, 20, 40, 80, 160, 320, 640];

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

/**
 * One document per wake-up topic. `by` holds, per store instance that notified the topic, a
 * number that grows with each of its notifications (its clock, made strictly increasing).
 */
interface WakeupDoc {
  _id: string;
  /** When the topic was last notified, for pruning. */
  at: Date;
  by: Record<string, number>;
}

/**
 * A hint that a job is queued at an attempt: `_id` is `<job>#<attempt>`. Written just after
 * the job enters `queued`, with a copy of it, and deleted just after it leaves; readers verify
 * it against the job unless they take the copy (see "job hints").
 */
interface ReadyHint {
  _id: string;
  jobId: string;
  attempt: number;
  readyAt: number | null;
  /** The labels the job requires, so that dispatch can filter without reading the job. */
  labels: string[];
  /** When the hint was written. */
  at: number;
  /**
   * The job as it entered the queue (stored form), written with the hint after the job's write.
   * A queued attempt leaves the queue only by its lease decision, so a pull may take the job
   * from here instead of reading it (see `QueuedJobsQuery.copies` and `COPY_TRUSTED_MS`).
   */
  job?: StoredDoc;
  /** Retired: its job left the state (see "job hints"). */
  gone?: boolean;
}

/** A hint that a job is leased or running at an attempt: `_id` is `<job>#<attempt>`. */
interface ActiveHint {
  _id: string;
  jobId: string;
  attempt: number;
  agentId: string | null;
  /**
   * The lease's expiry as renewed (`renewLease` writes only here). The lease expires at the
   * later of this and the job's `leaseExpiresAt`.
   */
  leaseExpiresAt: number | null;
  at: number;
  /** Retired: its job left the state (see "job hints"). */
  gone?: boolean;
}

/** Fields the adapter adds to documents for its own use and strips from what it returns. */
const HIDDEN = { jobs: ['_n', '_spec'], artifacts: ['_file'], logChunks: ['_encoding', '_data'] } as const;

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

/**
 * A job as stored. Its spec, which never changes and is never queried, is kept as one JSON
 * string (`_spec`) rather than as a nested document: FerretDB parses every stored document
 * each time it looks one up, and a string costs it far less to parse than the same data as
 * fields (it halves the cost of every job read and update there).
 */
function encodeJob(job: JobRecord): StoredDoc {
  const { spec, ...rest } = job;
  return { ...encode(rest), _id: job._id, _spec: JSON.stringify(spec) };
}

/** A stored job as its record; documents written before `_spec` have a nested `spec`. */
function decodeJob(doc: Document): JobRecord {
  const job = decode<JobRecord>(doc, HIDDEN.jobs);
  if (typeof doc._spec === 'string') job.spec = JSON.parse(doc._spec);
  return job;
}

// ---- log chunks ----
// Logs are most of what the store holds, and text compresses well. A chunk's text is stored
// deflated (raw DEFLATE, node:zlib) as BSON Binary in `_data`, with `_encoding: 'deflate-raw'`,
// when that saves at least an eighth of its bytes; small chunks, and text that does not
// compress, stay plain in `text`. Raw DEFLATE rather than gzip: the document says how the bytes
// are encoded, so gzip's header and checksum would be 18 wasted bytes per chunk. Rather than
// brotli: at the qualities that compress as fast as DEFLATE (~0.6 ms per 64 KiB chunk) it
// saves only ~10% more, and DEFLATE inflates faster and is readable by any zlib. Documents
// written before compression (plain `text`) read as they always did.

/** How a compressed chunk's `_data` is encoded. */
const LOG_ENCODING = 'deflate-raw';
/** Chunks of fewer UTF-8 bytes are stored plain: compressing them saves next to nothing. */
const LOG_COMPRESS_MIN_BYTES = 256;
const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

/** A log chunk as stored: compressed when it pays (see "log chunks"). */
async function encodeLogChunk(chunk: LogChunkRecord): Promise<StoredDoc> {
  const doc = encode(chunk) as StoredDoc;
  const bytes = Buffer.from(chunk.text, 'utf8');
  if (bytes.length < LOG_COMPRESS_MIN_BYTES) return doc;
  const packed = await deflateRawAsync(bytes);
  if (packed.length > bytes.length - bytes.length / 8) return doc;
  const { text: _text, ...rest } = doc;
  return { ...rest, _id: chunk._id, _encoding: LOG_ENCODING, _data: new Binary(packed) };
}

/**
 * The size a byte-limited read of log chunks takes a chunk to be before it has read one (agents
 * ship chunks of up to 64 KiB).
 */
const LOG_BYTES_PER_CHUNK_GUESS = 32 * 1024;

/** A stored log chunk as its record, its text decompressed. */
async function decodeLogChunk(doc: Document): Promise<LogChunkRecord> {
  const chunk = decode<LogChunkRecord>(doc, HIDDEN.logChunks);
  if (doc._encoding === undefined) return chunk;
  if (doc._encoding !== LOG_ENCODING || !(doc._data instanceof Binary)) {
    throw new Error(`log chunk '${String(doc._id)}' has an unknown encoding '${String(doc._encoding)}'`);
  }
  chunk.text = (await inflateRawAsync(doc._data.read(0, doc._data.length()))).toString('utf8');
  return chunk;
}

/** A `$set` for a patch: `_id` never changes, and an empty patch sets nothing. */
function setOf(patch: object): Document | null {
  const fields = encode(patch);
  delete fields._id;
  return Object.keys(fields).length > 0 ? fields : null;
}

const isDuplicateKey = (error: unknown): boolean => error instanceof MongoError && error.code === DUPLICATE_KEY;

/** True when an unordered insert failed only because some documents existed already. */
function isOnlyDuplicates(error: unknown): error is MongoBulkWriteError {
  if (!(error instanceof MongoBulkWriteError) || error.result?.getWriteConcernError()) return false;
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return writeErrors.every((e) => e.code === DUPLICATE_KEY);
}

/** What an insert of one document came to: stored, or there already (a duplicate `_id`). */
type Inserted = 'inserted' | 'duplicate';

/**
 * Group-committed unordered inserts into a collection (see `createGroupCommit`): the inserts made
 * while the last was on its way go as one `insertMany`. A document whose `_id` exists already is
 * `duplicate`; a document that failed otherwise fails its call with the bulk error.
 */
function insertGroup<D extends Document>(collection: Collection<D>, options: GroupCommitOptions = {}) {
  return createGroupCommit<D, Inserted>(async (docs) => {
    const inserted: ItemOutcome<Inserted>[] = docs.map(() => ({ ok: true, value: 'inserted' }));
    try {
      await collection.insertMany(docs as OptionalUnlessRequiredId<D>[], { ordered: false });
      return inserted;
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError) || error.result?.getWriteConcernError()) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (writeErrors.length === 0) throw error;
      for (const e of writeErrors) {
        inserted[e.index] = e.code === DUPLICATE_KEY ? { ok: true, value: 'duplicate' } : { ok: false, error };
      }
      return inserted;
    }
  }, options);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The URI with its password hidden, for messages. */
const redact = (uri: string): string => uri.replace(/\/\/([^@/]*)@/, '//***@');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- job hints ----
// FerretDB reads a whole collection for every query that is not by `_id`, so finding queued or
// leased jobs with a filter on `jobs` would read every job ever run, many times a second. So two
// small collections hold one hint per queued (`ready_jobs`) and per leased or running
// (`active_jobs`) attempt, and readers read them whole and then the jobs by `_id`.
//
// The job document stays the truth. An `active_jobs` hint is written just before its job
// enters the state, so a crash in between leaves an extra hint, never a missing one. A
// `ready_jobs` hint is written just after its job entered the queue, with a copy of the job as
// it entered it: a queued attempt leaves the queue only by its lease decision, so a pull that
// decides the lease first may take the job from that copy instead of reading it (see
// `QueuedJobsQuery.copies`; copies are taken while the hint is younger than `COPY_TRUSTED_MS`).
// Hints are deleted just after their job leaves the state. Otherwise readers check each hint
// against its job and delete the hints whose job moved on. A hint lost (a crash between a job's
// write and its ready hint's, a write that failed) is re-created by `listJobs`, which every
// coordinator calls for every running run in its periodic repair.
//
// Unpatched FerretDB 1.24 reads the whole collection for a delete, even by `_id` (its lookups by
// `_id` miss the `_id` index; see docs/store.md), while an update by `_id` does not read every
// document as a delete does: there a hint is retired by marking it `gone`, readers skip retired
// hints, and every store deletes the retired ones in one pass every `HINT_PURGE_INTERVAL_MS`.
// Elsewhere (MongoDB, FerretDB built by scripts/install-ferretdb.sh) hints are deleted by `_id`;
// the store finds out which at start (`retireHintsBy`). FerretDB returns documents in insertion
// order, which for ready hints is the order their jobs became ready, so a pull reads the first
// `READY_PAGES` hints instead of all of them (with nothing retired in the way, FerretDB hands that
// limit to SQLite); on MongoDB the same page comes from an index on `readyAt`.

/** The filter of hints not retired. */
const LIVE = { gone: { $ne: true } } as const;

const hintId = (jobId: string, attempt: number) => `${jobId}#${attempt}`;
const isQueued = (job: { state?: unknown }) => job.state === 'queued';
const isActiveJob = (job: { state?: unknown }) => isActive(job.state);
const isActive = (state: unknown) => state === 'leased' || state === 'running';

/**
 * The ready hint of a queued job, which it copies (`stored`: the job as stored, when the caller
 * has it): write it only once the job is queued.
 */
const readyHintOf = (job: JobRecord, stored: StoredDoc = encodeJob(job)): ReadyHint => ({
  _id: hintId(job._id, job.attempt),
  jobId: job._id,
  attempt: job.attempt,
  readyAt: job.readyAt,
  labels: [...job.spec.labels],
  at: Date.now(),
  job: stored,
});

const activeHintOf = (job: JobRecord): ActiveHint => ({
  _id: hintId(job._id, job.attempt),
  jobId: job._id,
  attempt: job.attempt,
  agentId: job.agentId,
  leaseExpiresAt: job.leaseExpiresAt,
  at: Date.now(),
});

/**
 * What a hint says, checked against its job: `current` (the job is in the hinted state at the
 * hinted attempt), `pending` (the job may still get there: the hint may have been written just
 * before it),
 * or `stale` (the job moved on, or the hint is an orphan).
 */
function verdictOf(
  hint: ReadyHint | ActiveHint,
  job: Document | null,
  kind: 'ready' | 'active',
): 'current' | 'pending' | 'stale' {
  const inState = kind === 'ready' ? isQueued : isActiveJob;
  if (job && job.attempt === hint.attempt && inState(job)) return 'current';
  // The state a job is in just before it enters the hinted one, at the same attempt.
  const before = kind === 'ready' ? 'waiting' : 'queued';
  const ahead = !job || job.attempt < hint.attempt || (job.attempt === hint.attempt && job.state === before);
  return ahead && Date.now() - hint.at < ORPHAN_HINT_MS ? 'pending' : 'stale';
}

/** A leased or running job with its lease's renewals, which its `active_jobs` hint holds. */
function withRenewal(job: JobRecord, hint: ActiveHint | null): JobRecord {
  const renewed = hint?.attempt === job.attempt ? hint.leaseExpiresAt : null;
  return renewed !== null && (job.leaseExpiresAt === null || renewed > job.leaseExpiresAt)
    ? { ...job, leaseExpiresAt: renewed }
    : job;
}

/** The properties of a patch that are set, as `$set` (through `encode`) sees them. */
const definedOf = (patch: object) => Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));

const firstWriteError = (error: MongoBulkWriteError) =>
  Array.isArray(error.writeErrors) ? error.writeErrors[0] : error.writeErrors;

/**
 * True when the server opens a change stream on `collection` (a replica set does; FerretDB and a
 * standalone server answer with an error). The probe's stream is closed again.
 */
async function changeStreamsWork(collection: Collection<WakeupDoc>): Promise<boolean> {
  let stream: ChangeStream<WakeupDoc> | null = null;
  try {
    stream = collection.watch([], { maxAwaitTimeMS: 100 });
    // The first call runs the `aggregate` with `$changeStream`: where it is not supported, it throws.
    await stream.tryNext();
    return true;
  } catch {
    return false;
  } finally {
    await stream?.close().catch(() => undefined);
  }
}

/** The store instances whose stamps a change of a `wakeups` document wrote. */
function stampersOf(change: ChangeStreamDocument<WakeupDoc>): string[] {
  if (change.operationType === 'insert' || change.operationType === 'replace') {
    return Object.keys(change.fullDocument?.by ?? {});
  }
  if (change.operationType !== 'update') return [];
  const origins: string[] = [];
  for (const [field, value] of Object.entries(change.updateDescription?.updatedFields ?? {})) {
    if (field.startsWith('by.')) origins.push(field.slice(3));
    else if (field === 'by' && value && typeof value === 'object') origins.push(...Object.keys(value));
  }
  return origins;
}

/** The decision that says `backfillPipelineHistory` ran to its end on a database. */
export const HISTORY_BACKFILLED = 'store:pipeline-history/backfilled';

/**
 * Writes the `pipeline_history` entry of every version stored without one (versions stored
 * before the collection existed), once per database: the decision `HISTORY_BACKFILLED` records
 * that it ran to its end, and later starts only read that. Coordinators starting at once may
 * each do it; entries are insert-only, keyed by the version.
 */
async function backfillPipelineHistory(db: Db): Promise<void> {
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
    .insertOne({ _id: HISTORY_BACKFILLED, at: Date.now(), data: {} } as StoredDoc)
    .catch((error: unknown) => {
      if (!isDuplicateKey(error)) throw error;
    });
}

/** A version's entry in `pipeline_history`. */
const summaryOf = (version: PipelineVersionRecord): PipelineVersionSummary => ({
  _id: version._id,
  pipeline: version.pipeline,
  createdAt: version.createdAt,
  entry: version.entry,
  jobs: version.spec.jobs.map((job) => job.name),
});

/**
 * Creates the indexes the store's queries need. `createIndex` is idempotent, so every
 * coordinator does this at start.
 */
async function ensureIndexes(db: Db): Promise<void> {
  // Queued and active jobs are found through the `ready_jobs` and `active_jobs` hints, which
  // are small; a pull reads the oldest ready hints first, by `readyAt`.
  const plain: [string, Document, { unique?: boolean }?][] = [
    [Collections.jobs, { runId: 1 }],
    [Collections.readyJobs, { readyAt: 1, jobId: 1 }],
    // Descending where the query sorts newest first.
    [Collections.runs, { pipeline: 1, number: -1 }],
    [Collections.runs, { createdAt: -1 }],
    [Collections.runs, { status: 1, createdAt: -1 }],
    [Collections.logChunks, { jobId: 1, attempt: 1, seq: 1 }],
    [Collections.pipelineHistory, { pipeline: 1, createdAt: -1, _id: -1 }],
    [Collections.agents, { tokenHash: 1 }, { unique: true }],
    [Collections.agents, { state: 1, lastHeartbeatAt: 1 }],
    [Collections.artifacts, { runId: 1 }],
    [Collections.schedules, { enabled: 1, nextFireAt: 1 }],
    [Collections.schedules, { pipeline: 1 }],
    // `events` is read and pruned by `_id` ranges: the `_id` index serves it.
  ];
  for (const [name, keys, options] of plain) await db.collection(name).createIndex(keys, options ?? {});
  const wakeups = db.collection(Collections.wakeups);
  try {
    await wakeups.createIndex({ at: 1 }, { expireAfterSeconds: WAKEUP_RETENTION_MS / 1000 });
  } catch (error) {
    // FerretDB has no TTL indexes (and an operator may have changed the TTL): the pollers'
    // periodic delete removes old wake-ups either way, so an index on `at` is all that's needed.
    if (isMongoUnavailable(error)) throw error;
    await wakeups.createIndex({ at: 1 }).catch((second: unknown) => {
      if (isMongoUnavailable(second)) throw second;
    });
  }
}

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
 * Queued and active jobs are found through small hint collections checked against the jobs
 * (see "job hints"), so that no hot query reads all jobs, which FerretDB would do for any filter
 * but `{ _id }`. Lease renewals are kept with those hints, apart from the jobs.
 *
 * Wake-ups are delivered locally at once and, for other processes, through one document per
 * topic in `wakeups`, which every store watches with a change stream where the server has them
 * (a replica set) and otherwise polls every `pollInterval` ms while it has subscribers (FerretDB,
 * or after the stream failed). `wakeupMode()` tells which.
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
  const readyPageReuseMs = options.readyPageReuseMs ?? READY_PAGE_REUSE_MS;
  const listByIdMax = options.listByIdMax ?? LIST_BY_ID_MAX;
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
  /**
   * FerretDB (1.x) serves a filter from an index only when it is exactly `{ _id: <value> }`;
   * any other filter, even `{ _id, state }`, reads the whole collection. On such a server,
   * guarded updates read the job by `_id`, check the guard, and update by `_id` alone. (FerretDB
   * applies an update as read-then-replace, so the guard in the filter was not atomic there
   * either.) On MongoDB the guard stays in the filter, where it is atomic.
   */
  let idOnlyFilters = false;
  /** Whether hints are retired by marking them `gone` (see "job hints"), or deleted. */
  let retireByUpdate = false;
  try {
    await client.connect();
    await ensureIndexes(db);
    await backfillPipelineHistory(db);
    await backfillTokenIds(db);
    const info = await db.command({ buildInfo: 1 });
    idOnlyFilters = typeof info.ferretdbVersion === 'string';
    retireByUpdate =
      options.retireHintsBy === undefined
        ? idOnlyFilters && !(await idLookupsUseIndex(db.collection(Collections.readyJobs)))
        : options.retireHintsBy === 'update';
  } catch (error) {
    if (ownsClient) await client.close().catch(() => undefined);
    if (isMongoUnavailable(error)) {
      throw new StoreUnavailableError(`cannot reach MongoDB at ${where}: ${messageOf(error)}`, { cause: error });
    }
    throw error;
  }

  const decisions = db.collection<StoredDoc>(Collections.decisions);
  const versions = db.collection<StoredDoc>(Collections.pipelineVersions);
  const pipelines = db.collection<StoredDoc>(Collections.pipelines);
  const pipelineHistory = db.collection<StoredDoc>(Collections.pipelineHistory);
  const runs = db.collection<StoredDoc>(Collections.runs);
  const jobs = db.collection<StoredDoc>(Collections.jobs);
  const readyJobs = db.collection<ReadyHint>(Collections.readyJobs);
  const activeJobs = db.collection<ActiveHint>(Collections.activeJobs);
  const runJobs = db.collection<{ _id: string; jobs: string[] }>(Collections.runJobs);
  const runNumbers = db.collection<{ _id: string; last: number }>(Collections.runNumbers);
  const logChunks = db.collection<StoredDoc>(Collections.logChunks);
  const artifactMeta = db.collection<ArtifactDoc>(Collections.artifacts);
  const agents = db.collection<StoredDoc>(Collections.agents);
  const schedules = db.collection<StoredDoc>(Collections.schedules);
  const eventLog = db.collection<StoredDoc>(Collections.events);
  // Decisions, events and hints are written by many calls at once under load: each goes with
  // the others written meanwhile (group commit), one `insertMany` for all.
  const insertDecisions = insertGroup(decisions);
  const insertEvents = insertGroup(eventLog, EVENTS_LINGER);
  const insertReadyHints = insertGroup(readyJobs);
  const insertActiveHints = insertGroup(activeJobs);
  /**
   * Updates of jobs by `_id` alone, where guards are checked on a read before (FerretDB, see
   * `idOnlyFilters`), group-committed: the updates made while one is on its way go together in
   * one bulk write. Each tells whether its job was found.
   */
  const updateJobsById = createGroupCommit<{ id: string; set: Document }, boolean>(async (updates) => {
    const one = ({ id, set }: { id: string; set: Document }) => ({
      updateOne: { filter: { _id: id }, update: { $set: set } },
    });
    const result = await jobs.bulkWrite(updates.map(one), { ordered: false });
    if (result.matchedCount === updates.length) return updates.map(() => ({ ok: true, value: true }));
    // A job was not found: which one, each update says when sent again (it sets what it set).
    return Promise.all(
      updates.map(async ({ id, set }): Promise<ItemOutcome<boolean>> => {
        try {
          return { ok: true, value: (await jobs.updateOne({ _id: id }, { $set: set })).matchedCount === 1 };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  });
  // Wake-ups are hints: a local read and a w:1 write are enough, and faster.
  const wakeups = db.collection<WakeupDoc>(Collections.wakeups, {
    readConcern: { level: 'local' },
    writeConcern: { w: 1 },
  });
  const bucket = new GridFSBucket(db, { bucketName: Collections.artifacts, writeConcern: MAJORITY });
  // Change streams on `wakeups` read with the database's majority read concern, which every
  // server version with change streams accepts for them (stamps are written with w:1, and are
  // seen once they are majority-committed: a few milliseconds on a healthy replica set).
  const wakeupChanges = db.collection<WakeupDoc>(Collections.wakeups);
  /** How other processes' wake-ups arrive: decided once here, and by a stream that fails later. */
  let wakeupMode: 'polling' | 'change-stream' =
    options.changeStreams !== false && (await changeStreamsWork(wakeupChanges)) ? 'change-stream' : 'polling';

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
        if (!isMongoBusy(error)) throw error;
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
      if (isMongoUnavailable(error)) {
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

  // ---- job hints (see "job hints" above) ----

  /** Inserts hints; one that exists already is fine (its content is fixed by its `_id`). */
  const insertHints = async <H extends ReadyHint | ActiveHint>(collection: Collection<H>, hints: H[]) => {
    if (hints.length === 0) return;
    const insert = (collection as unknown) === readyJobs ? insertReadyHints : insertActiveHints;
    const outcomes = await (insert as unknown as (docs: readonly H[]) => Promise<Inserted[]>)(hints);
    if (!retireByUpdate) return;
    // A hint written again (a repair) may find its retired self not yet purged: revive it.
    const hintsOf = collection as unknown as Collection<ReadyHint | ActiveHint>;
    for (const [i, hint] of hints.entries()) {
      if (outcomes[i] !== 'duplicate') continue;
      const existing = await hintsOf.findOne({ _id: hint._id });
      if (existing?.gone) await hintsOf.updateOne({ _id: hint._id }, { $set: { ...hint, gone: false } });
    }
  };

  /** Retires hints by `_id` (group-committed: one write for the retirements made meanwhile). */
  const retireGroup = (collection: Collection<ReadyHint> | Collection<ActiveHint>, options?: GroupCommitOptions) =>
    createGroupCommit<string, undefined>(async (ids) => {
      const hints = collection as unknown as Collection<{ _id: string; gone?: boolean }>;
      await hints.bulkWrite(
        ids.map((id) =>
          retireByUpdate
            ? { updateOne: { filter: { _id: id }, update: { $set: { gone: true } } } }
            : // One delete by `_id` each: FerretDB serves no other filter (not even `$in`) from an index.
              { deleteOne: { filter: { _id: id } } },
        ),
        { ordered: false },
      );
      return ids.map(() => ({ ok: true, value: undefined }));
    }, options);
  const retireReadyHints = retireGroup(readyJobs);
  const retireActiveHints = retireGroup(activeJobs, ACTIVE_RETIRE_LINGER);

  /** Retires hints by `_id`, best effort: a hint left behind is retired by the next reader. */
  const retireHints = async (collection: Collection<ReadyHint> | Collection<ActiveHint>, ids: readonly string[]) => {
    await (collection === readyJobs ? retireReadyHints : retireActiveHints)(ids).catch(() => undefined);
  };

  /** Deletes the retired hints (see "job hints"): one pass over each hint collection. */
  const purgeRetiredHints = async () => {
    await Promise.all([readyJobs.deleteMany({ gone: true }), activeJobs.deleteMany({ gone: true })]);
  };

  /**
   * Reads of jobs for hint checks that are under way: the pulls a wake-up starts look at the
   * same oldest hints at once, and share each job's read instead of reading it once each. (A
   * check only picks candidates; the lease decision and the guarded update decide.)
   */
  const checkReads = new Map<string, Promise<StoredDoc | null>>();
  const readForCheck = (jobId: string) => {
    let read = checkReads.get(jobId);
    if (!read) {
      read = jobs.findOne({ _id: jobId }).finally(() => checkReads.delete(jobId));
      checkReads.set(jobId, read);
    }
    return read;
  };
  /** Agent ids found by token hash (see `getAgentByTokenHash`); checked on every read. */
  const agentIdsByTokenHash = new Map<string, string>();

  /**
   * Reads the jobs of hints, in the hints' order, until `limit` of them satisfy `counts`: returns
   * the hints whose job is in the hinted state, with the job, and deletes the stale hints.
   */
  const checkHints = async <H extends ReadyHint | ActiveHint>(
    hints: readonly H[],
    kind: 'ready' | 'active',
    limit: number,
    counts: (job: JobRecord) => boolean = () => true,
    { copies = false }: { copies?: boolean } = {},
  ): Promise<{ hint: H; job: JobRecord }[]> => {
    // A young ready hint's copy stands for its job (see `COPY_TRUSTED_MS`).
    const copyOf = (hint: H): StoredDoc | null => {
      const { job } = hint as ReadyHint;
      return copies && job && Date.now() - hint.at < COPY_TRUSTED_MS ? job : null;
    };
    const found: { hint: H; job: JobRecord }[] = [];
    const stale: string[] = [];
    let counted = 0;
    for (let i = 0; i < hints.length && counted < limit; ) {
      const batch = hints.slice(i, i + Math.min(limit - counted, HINT_READ_BATCH));
      i += batch.length;
      const docs = await Promise.all(batch.map((hint) => copyOf(hint) ?? readForCheck(hint.jobId)));
      batch.forEach((hint, k) => {
        const doc = docs[k] ?? null;
        const verdict = verdictOf(hint, doc, kind);
        if (verdict === 'stale') stale.push(hint._id);
        if (verdict !== 'current' || !doc) return;
        const job = decodeJob(doc);
        if (!counts(job)) found.push({ hint, job });
        else if (counted < limit) {
          found.push({ hint, job });
          counted++;
        }
      });
    }
    if (kind === 'ready' && stale.length > 0 && lastFirstPage) {
      // Not offered again by a first page used again (see `READY_PAGE_REUSE_MS`).
      const gone = new Set(stale);
      lastFirstPage = { ...lastFirstPage, hints: lastFirstPage.hints.filter((hint) => !gone.has(hint._id)) };
    }
    await retireHints(kind === 'ready' ? readyJobs : activeJobs, stale);
    return found;
  };

  /**
   * The oldest `size` live ready hints, or all of them with `all`. Pulls that look at once (a
   * wake-up starts every waiting pull of this coordinator) share one read; hints are checked
   * against their jobs anyway.
   */
  const readyReads = new Map<number | 'all', Promise<{ hints: ReadyHint[]; complete: boolean }>>();
  /** The oldest `size` live ready hints. */
  const readyPage = (size: number) => {
    // MongoDB: from the index on `readyAt`.
    if (!idOnlyFilters) return readyJobs.find(LIVE).sort({ readyAt: 1, jobId: 1 }).limit(size);
    // FerretDB: insertion order is the order the jobs became ready.
    if (retireByUpdate) return readyJobs.find(LIVE).limit(size);
    // Nothing retired in the way: no filter and no sort, so FerretDB passes the limit to SQLite,
    // which reads only the page instead of decoding documents until it has found enough.
    return readyJobs.find({}).limit(size);
  };
  /** The last full first page read, and when its read started (see `READY_PAGE_REUSE_MS`). */
  let lastFirstPage: { hints: ReadyHint[]; startedAt: number } | null = null;
  const readReadyHints = (
    scope: number | 'all',
    { reuse = false }: { reuse?: boolean } = {},
  ): Promise<{ hints: ReadyHint[]; complete: boolean; reused?: boolean }> => {
    if (reuse && scope === READY_PAGES[0] && lastFirstPage && Date.now() - lastFirstPage.startedAt < readyPageReuseMs)
      return Promise.resolve({ hints: lastFirstPage.hints, complete: false, reused: true });
    let read = readyReads.get(scope);
    if (!read) {
      const startedAt = Date.now();
      read = (scope === 'all' ? readyJobs.find(LIVE) : readyPage(scope))
        .toArray()
        .then((hints) => {
          if (scope === READY_PAGES[0] && hints.length === scope) lastFirstPage = { hints, startedAt };
          return { hints, complete: scope === 'all' || hints.length < scope };
        })
        .finally(() => readyReads.delete(scope));
      readyReads.set(scope, read);
    }
    return read;
  };

  /**
   * Adds the jobs of `list` to their runs' `run_jobs` entries (see `LIST_BY_ID_MAX`). An entry
   * may name a job that is not stored (its insert failed, or was taken back): readers skip it.
   */
  const indexRunJobs = async (list: readonly JobRecord[]) => {
    const byRun = new Map<string, string[]>();
    for (const job of list) {
      const ids = byRun.get(job.runId);
      if (ids) ids.push(job._id);
      else byRun.set(job.runId, [job._id]);
    }
    await Promise.all(
      [...byRun].map(async ([runId, ids]) => {
        try {
          await runJobs.insertOne({ _id: runId, jobs: ids });
        } catch (error) {
          if (!isDuplicateKey(error)) throw error;
          // A resumed trigger, or more jobs of the run: the entry is added to.
          await runJobs.updateOne({ _id: runId }, { $addToSet: { jobs: { $each: ids } } });
        }
      }),
    );
  };

  /**
   * The documents of `ids` in `collection` (with `projection`, the fields kept), read by `_id`,
   * `HINT_READ_BATCH` at a time, in that order; missing ones skipped.
   */
  const findByIds = async <D extends { _id: string }>(
    collection: Collection<D>,
    ids: readonly string[],
    projection?: Document,
  ): Promise<D[]> => {
    const docs: D[] = [];
    for (let i = 0; i < ids.length; i += HINT_READ_BATCH) {
      const batch = ids.slice(i, i + HINT_READ_BATCH);
      const found = await Promise.all(
        batch.map((_id) => collection.findOne({ _id } as Filter<D>, { projection }) as Promise<D | null>),
      );
      for (const doc of found) if (doc) docs.push(doc);
    }
    return docs;
  };

  /**
   * The live hints of the current attempts of `wanted`, by `_id` (with `projection`, the fields
   * kept). On FerretDB a filter other than `_id` reads every hint stored (a backlog's, with their
   * copies), so the hints of up to `listByIdMax` jobs are looked up by `_id`, as `listJobs`
   * reads a run's jobs; elsewhere, or for more jobs, all live hints are read.
   */
  const liveHintsOf = async <H extends ReadyHint | ActiveHint>(
    collection: Collection<H>,
    wanted: readonly JobRecord[],
    projection?: Document,
  ): Promise<Map<string, H>> => {
    const live = new Map<string, H>();
    if (wanted.length === 0) return live;
    const hints = collection as unknown as Collection<{ _id: string; gone?: boolean }>;
    const ids = wanted.map((job) => hintId(job._id, job.attempt));
    if (!idOnlyFilters || ids.length > listByIdMax) {
      const wantedIds = new Set(ids);
      for (const hint of await hints.find(LIVE, { projection }).toArray())
        if (wantedIds.has(hint._id)) live.set(hint._id, hint as unknown as H);
      return live;
    }
    for (const hint of await findByIds(hints, ids, projection && { ...projection, gone: 1 }))
      if (!hint.gone) live.set(hint._id, hint as unknown as H);
    return live;
  };

  const lastRepair = new Map<string, number>();
  /**
   * Re-creates the hints missing for the queued and active jobs of a run, as `listJobs` read
   * them; at most every `HINT_REPAIR_INTERVAL_MS` per run. A job that looks unhinted is read
   * again before its hint is written, since the hint may just have been deleted as it moved on.
   */
  const repairHints = async (runId: string, records: readonly JobRecord[]) => {
    const started = Date.now();
    if (started - (lastRepair.get(runId) ?? 0) < HINT_REPAIR_INTERVAL_MS) return;
    const queued = records.filter(isQueued);
    const active = records.filter(isActiveJob);
    if (queued.length === 0 && active.length === 0) return;
    lastRepair.set(runId, started);
    if (lastRepair.size > 1_000) {
      for (const [id, at] of lastRepair) if (started - at >= HINT_REPAIR_INTERVAL_MS) lastRepair.delete(id);
    }
    // Only whether each is there: its `_id`.
    const [readyIds, activeIds] = await Promise.all([
      liveHintsOf(readyJobs, queued, { _id: 1 }),
      liveHintsOf(activeJobs, active, { _id: 1 }),
    ]);
    const unhinted = [
      ...queued.filter((job) => !readyIds.has(hintId(job._id, job.attempt))),
      ...active.filter((job) => !activeIds.has(hintId(job._id, job.attempt))),
    ];
    for (const seen of unhinted) {
      const doc = await jobs.findOne({ _id: seen._id });
      if (!doc || doc.attempt !== seen.attempt || doc.state !== seen.state) continue;
      const job = decodeJob(doc);
      if (isQueued(job)) await insertHints(readyJobs, [readyHintOf(job)]);
      else await insertHints(activeJobs, [activeHintOf(job)]);
    }
  };

  /** Writes one artifact: see `putArtifact`. */
  const artifactWrites = createPerKeyQueue();
  const putArtifactNow = (meta: ArtifactRecord, data: Buffer): Promise<void> =>
    call(`putArtifact ${meta._id}`, async () => {
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

  // Retired hints pile up only where they are marked rather than deleted: delete them in one
  // pass now and then.
  let purging = false;
  const purgeTimer = retireByUpdate
    ? setInterval(() => {
        if (purging || closed) return;
        purging = true;
        track(
          purgeRetiredHints().finally(() => {
            purging = false;
          }),
        );
      }, HINT_PURGE_INTERVAL_MS)
    : null;
  purgeTimer?.unref();

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

  /** This instance's wake-up stamps: its clock, made strictly increasing. */
  let lastStamp = 0;
  const nextStamp = () => {
    lastStamp = Math.max(lastStamp + 1, Date.now());
    return lastStamp;
  };

  /** Stamps a topic's document with this instance's next stamp; concurrent first upserts can race. */
  const stampTopic = async (topic: string, at: Date, stamp: number) => {
    const update = { $set: { at, [`by.${instanceId}`]: stamp } };
    try {
      await wakeups.updateOne({ _id: topic }, update, { upsert: true });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      await wakeups.updateOne({ _id: topic }, update, { upsert: true });
    }
  };

  /**
   * Topics whose stamp is being written, and whether they were notified again meanwhile: a
   * topic has at most one write under way, followed by at most one more, however often it is
   * notified (a busy run notifies its topic for every lease, start, log batch and completion).
   * Notified again during a write, the next write waits until `WAKEUP_MIN_SPACING_MS` have
   * passed. A topic whose last notification allowed more (`within`) is written at most once per
   * `within`: after each write it stays here that long, and what is notified meanwhile is
   * written at its end.
   */
  const stamping = new Map<string, boolean>();
  /** The `within` of each topic's last notification, where it allows more than the least spacing. */
  const spacing = new Map<string, number>();
  /** Pauses between the writes of a topic under way; `close` ends them. */
  const pauses = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      pauses.add(done);
    });
  const stampSoon = (topic: string) => {
    if (stamping.has(topic)) {
      stamping.set(topic, true);
      return;
    }
    stamping.set(topic, false);
    const write = async () => {
      try {
        do {
          stamping.set(topic, false);
          const started = Date.now();
          await stampTopic(topic, new Date(), nextStamp());
          // Pollers look every `pollInterval`: stamping a topic more often wakes nobody sooner.
          const within = spacing.get(topic);
          const wait = (within ?? WAKEUP_MIN_SPACING_MS) - (Date.now() - started);
          if ((within !== undefined || stamping.get(topic)) && !closed && wait > 0) await pause(wait);
        } while (stamping.get(topic) && !closed);
      } finally {
        stamping.delete(topic);
        spacing.delete(topic);
      }
    };
    // A lost wake-up costs latency, never correctness: waiters look again on their own.
    track(write());
  };

  /** Writes the topics notified since the last flush. */
  const flushWakeups = () => {
    for (const topic of pendingTopics) stampSoon(topic);
    pendingTopics.clear();
  };

  let pollTimer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;
  let pollerStarted = false;
  let lastPrune = 0;
  /** Per topic polled: the stamps of the other instances seen last, and when it was last polled. */
  const seen = new Map<string, { stamps: Map<string, number>; polledAt: number }>();

  const pollOnce = async () => {
    const started = Date.now();
    if (started - lastPrune >= WAKEUP_PRUNE_INTERVAL_MS) {
      lastPrune = started;
      track(wakeups.deleteMany({ at: { $lt: new Date(started - WAKEUP_RETENTION_MS) } }));
      for (const [topic, { polledAt }] of seen) if (started - polledAt > WAKEUP_RETENTION_MS) seen.delete(topic);
    }
    const topics = events.eventNames().filter((name): name is string => typeof name === 'string');
    if (topics.length === 0) return;
    // One read by `_id` per subscribed topic: cheap on every server.
    const docs = await Promise.all(topics.map((topic) => wakeups.findOne({ _id: topic })));
    const woken: string[] = [];
    topics.forEach((topic, i) => {
      let known = seen.get(topic);
      if (!known) {
        known = { stamps: new Map(), polledAt: started };
        seen.set(topic, known);
      }
      known.polledAt = started;
      let wake = false;
      for (const [origin, stamp] of Object.entries(docs[i]?.by ?? {})) {
        if (origin === instanceId || typeof stamp !== 'number') continue;
        const last = known.stamps.get(origin);
        // A stamp not seen before counts when it is recent: it was notified just before this
        // topic was first polled.
        if (last === undefined ? stamp >= started - WAKEUP_OVERLAP_MS : stamp > last) wake = true;
        known.stamps.set(origin, stamp);
      }
      if (wake) woken.push(topic);
    });
    for (const topic of woken) {
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
    schedulePoll();
  };

  let stream: ChangeStream<WakeupDoc> | null = null;
  /** Falls back to polling for good: the stream failed (or the server stopped supporting it). */
  const fallBackToPolling = () => {
    wakeupMode = 'polling';
    const failed = stream;
    stream = null;
    if (failed) track(failed.close());
    // A first poll wakes the topics notified in the last seconds, so the switch loses nothing.
    startPoller();
  };

  /** Wakes the subscribers of the topic a change is about when another instance stamped it. */
  const onWakeupChange = (change: ChangeStreamDocument<WakeupDoc>) => {
    if (!('documentKey' in change)) return;
    const topic = (change.documentKey as { _id?: unknown })._id;
    if (typeof topic !== 'string' || events.listenerCount(topic) === 0) return;
    if (stampersOf(change).some((origin) => origin !== instanceId)) {
      try {
        events.emit(topic);
      } catch {
        // A throwing listener must not stop the stream.
      }
    }
  };

  /** Starts delivering other processes' wake-ups: by change stream where it works, else polling. */
  const startWakeups = () => {
    if (closed || stream || pollerStarted) return;
    if (wakeupMode === 'polling') return startPoller();
    try {
      stream = wakeupChanges.watch([{ $match: { operationType: { $in: ['insert', 'update', 'replace'] } } }]);
    } catch {
      return fallBackToPolling();
    }
    const opened = stream;
    opened.on('change', onWakeupChange);
    // The driver resumes a stream by itself after resumable errors; one it reports is fatal. A
    // stream that ends without one (its collection was dropped: an `invalidate`) is over too.
    const lost = () => {
      if (!closed && stream === opened) fallBackToPolling();
    };
    opened.on('error', lost);
    opened.on('close', lost);
  };

  return {
    decide<T extends object>(id: string, data: T): Promise<Decided<T>> {
      return call(`decide ${id}`, async () => {
        const doc = { _id: id, at: now(), data: encodeValue(data) };
        const [outcome] = await insertDecisions([doc]);
        if (outcome === 'duplicate') return { won: false, decision: await readWinner<T>(id) };
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
        // Then its entry in the pipeline's history, also insert-only and keyed by the version,
        // so it is listed once. Storing the version again (a redeploy of the same content)
        // writes an entry lost to a crash between the two inserts.
        try {
          await pipelineHistory.insertOne(encode(summaryOf(version)) as StoredDoc);
        } catch (error) {
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

    listPipelineVersions(pipeline: string, query: PipelineVersionQuery) {
      return call(`listPipelineVersions ${pipeline}`, async () => {
        const limit = Math.floor(query.limit);
        // A MongoDB limit of 0 means "no limit".
        if (!(limit > 0)) return [];
        // One small entry per version in `pipeline_history`, found through its index on
        // MongoDB; the versions themselves, with their bundles, are never read.
        const filter: Filter<StoredDoc> = { pipeline };
        if (query.before !== undefined) {
          const cursor = await pipelineHistory.findOne({ _id: query.before });
          if (!cursor || cursor.pipeline !== pipeline) return [];
          filter.$or = [
            { createdAt: { $lt: cursor.createdAt } },
            { createdAt: cursor.createdAt, _id: { $lt: cursor._id } },
          ];
        }
        const docs = await pipelineHistory.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit).toArray();
        return docs.map((doc) => decode<PipelineVersionSummary>(doc));
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

    insertJobs(list, options) {
      return call('insertJobs', async () => {
        if (list.length === 0) return;
        const ids = list.map((job) => job._id);
        const duplicate = firstDuplicate(ids);
        if (duplicate !== undefined) throw new ConflictError(`duplicate job ${duplicate}`);
        // `active_jobs` hints and jobs at once: a job is leased only once its run is stored, and
        // callers store the run after `insertJobs` returned (see `triggerRun`), so neither can be
        // used without the other, even if this process dies between the two writes. (A hint
        // whose job is not there yet is left alone by readers: see `verdictOf`.) `ready_jobs`
        // hints copy their job, so they go once the jobs are stored (`readyHinted`).
        // FerretDB: each run's `run_jobs` entry names its jobs before they are stored, so that
        // `listJobs` finds every stored job by `_id` (see `LIST_BY_ID_MAX`).
        if (idOnlyFilters) await indexRunJobs(list);
        const hinted = insertHints(activeJobs, list.filter((job) => isActive(job.state)).map(activeHintOf));
        // `_n` keeps the jobs of a run in the order they were inserted (the spec's order).
        const docs: StoredDoc[] = list.map((job, i) => ({ ...encodeJob(job), _n: i }));
        const readyHinted = () =>
          insertHints(
            readyJobs,
            list.flatMap((job, i) => (isQueued(job) ? [readyHintOf(job, docs[i] as StoredDoc)] : [])),
          );
        if (options?.keepExisting) {
          // Unordered: every job not stored yet is inserted; those stored are kept.
          try {
            await jobs.insertMany(docs, { ordered: false });
          } catch (error) {
            if (!isOnlyDuplicates(error)) {
              await hinted.catch(() => undefined);
              throw error;
            }
          }
          // A kept job's hints are written again too: the insert may have died before them.
          await hinted;
          await readyHinted();
          return;
        }
        try {
          await jobs.insertMany(docs, { ordered: true });
        } catch (error) {
          await hinted.catch(() => undefined);
          if (!isDuplicateKey(error)) throw error;
          // Like the memory adapter, refuse the whole batch: an ordered insert stopped at the job
          // that exists, so take back the ones before it. (Job ids come from a run-number
          // decision, so two coordinators never insert the same jobs; this is a caller's bug.)
          const failed = error instanceof MongoBulkWriteError ? firstWriteError(error)?.index : undefined;
          const inserted = failed === undefined ? [] : ids.slice(0, failed);
          await Promise.all(inserted.map((id) => jobs.deleteOne({ _id: id })));
          throw new ConflictError(`duplicate job ${failed === undefined ? ids.join(', ') : ids[failed]}`, {
            cause: error,
          });
        }
        await hinted;
        await readyHinted();
      });
    },
    getJob(id, options) {
      return call(`getJob ${id}`, async () => {
        const doc = await jobs.findOne({ _id: id });
        if (!doc) return null;
        const job = decodeJob(doc);
        if (!isActiveJob(job) || options?.lease === false) return job;
        return withRenewal(job, await activeJobs.findOne({ _id: hintId(job._id, job.attempt) }));
      });
    },
    listJobs(runId) {
      return call(`listJobs ${runId}`, async () => {
        const named = idOnlyFilters ? await runJobs.findOne({ _id: runId }) : null;
        const docs =
          named && named.jobs.length <= listByIdMax
            ? await findByIds(jobs, named.jobs)
            : await jobs.find({ runId }).toArray();
        const records = docs
          .sort((a, b) => Number(a._n) - Number(b._n) || a._id.localeCompare(b._id))
          .map((doc) => decodeJob(doc));
        track(repairHints(runId, records));
        const active = records.filter(isActiveJob);
        if (active.length === 0) return records;
        const hints = await liveHintsOf(activeJobs, active);
        return records.map((job) =>
          isActiveJob(job) ? withRenewal(job, hints.get(hintId(job._id, job.attempt)) ?? null) : job,
        );
      });
    },
    updateJob(id: string, patch: JobPatch, guard?: JobGuard) {
      return call(`updateJob ${id}`, async () => {
        let current = guard?.read;
        if (current?._id !== id) {
          const doc = await jobs.findOne({ _id: id });
          if (!doc) return false;
          current = decodeJob(doc);
        }
        if (guard?.states && !guard.states.includes(current.state)) return false;
        if (guard?.attempt !== undefined && guard.attempt !== current.attempt) return false;
        const fields = setOf(patch);
        if (!fields) return true;
        const next = { ...current, ...definedOf(patch) } as JobRecord;
        const sameAttempt = next.attempt === current.attempt;
        const enters = (inState: (job: JobRecord) => boolean) => inState(next) && !(inState(current) && sameAttempt);
        const leaves = (inState: (job: JobRecord) => boolean) => inState(current) && !(inState(next) && sameAttempt);
        // The `active_jobs` hint of the state the job enters goes first...
        if (enters(isActiveJob)) await insertHints(activeJobs, [activeHintOf(next)]);
        let found: boolean;
        if (idOnlyFilters) {
          [found] = (await updateJobsById([{ id, set: fields }])) as [boolean];
        } else {
          const filter: Filter<StoredDoc> = { _id: id };
          if (guard?.states) filter.state = { $in: [...guard.states] };
          if (guard?.attempt !== undefined) filter.attempt = guard.attempt;
          found = (await jobs.updateOne(filter, { $set: fields })).matchedCount === 1;
        }
        if (!found) return false;
        // ...the `ready_jobs` hint, with its copy of the job, once the job is queued...
        if (enters(isQueued)) await insertHints(readyJobs, [readyHintOf(next)]);
        // ...and the hint of the state it left goes after it, without holding up the caller.
        // Best effort: the job has changed, and a reader retires a hint whose job moved on.
        const left = hintId(id, current.attempt);
        if (leaves(isQueued)) track(retireHints(readyJobs, [left]));
        if (leaves(isActiveJob)) track(retireHints(activeJobs, [left]));
        return true;
      });
    },
    renewLease(jobId, attempt, expiresAt) {
      return call(`renewLease ${jobId}`, async () => {
        // The renewal goes to the attempt's `active_jobs` hint, not to the job: on FerretDB an
        // update rewrites the whole document from a read made before it waited for the write
        // lock, so a renewal written to the job could undo the completion written meanwhile.
        const doc = await jobs.findOne({ _id: jobId });
        if (!doc || doc.attempt !== attempt || !isActive(doc.state)) return false;
        const id = hintId(jobId, attempt);
        const renewed = await activeJobs.updateOne({ _id: id }, { $max: { leaseExpiresAt: expiresAt } });
        if (renewed.matchedCount === 1) return true;
        // The hint was lost (see "job hints"): the renewal re-creates it.
        const job = decodeJob(doc);
        await insertHints(activeJobs, [{ ...activeHintOf(job), leaseExpiresAt: expiresAt }]);
        await activeJobs.updateOne({ _id: id }, { $max: { leaseExpiresAt: expiresAt } });
        return true;
      });
    },
    findQueuedJobs(limit, query = {}) {
      return call('findQueuedJobs', async () => {
        const { labels, skip, copies } = query;
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const startAt = Math.max(0, Math.floor(query.startAt ?? 0));
        const fits = (hint: ReadyHint) =>
          (!labels || labelsFit(hint.labels, labels)) && !skip?.(hint.jobId, hint.attempt);
        const byAge = (a: ReadyHint, b: ReadyHint) =>
          (a.readyAt ?? 0) - (b.readyAt ?? 0) || a.jobId.localeCompare(b.jobId);
        // Hints in the order asked for; their jobs are read in that order, until n are queued.
        const ordered = (hints: readonly ReadyHint[]) => rotated(hints.filter(fits).sort(byAge), startAt);
        // The oldest pages first, small then larger; all hints only when the larger page holds
        // too few this pull can take. The first page may be one read lately, and is read afresh
        // when it holds too few.
        const first = await readReadyHints(READY_PAGES[0], { reuse: true });
        let found = await checkHints(ordered(first.hints), 'ready', n, undefined, { copies });
        const scopes = first.reused ? ([...READY_PAGES, 'all'] as const) : ([...READY_PAGES.slice(1), 'all'] as const);
        if (found.length < n && !first.complete) {
          for (const scope of scopes) {
            const page = await readReadyHints(scope);
            found = await checkHints(ordered(page.hints), 'ready', n, undefined, { copies });
            if (found.length >= n || page.complete) break;
          }
        }
        return found.map(({ job }) => job);
      });
    },
    findExpiredLeases(at, limit) {
      return call('findExpiredLeases', async () => {
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        // Renewals go to the hints, and a lease's expiry is the later of its job's and its
        // hint's, so a hint that is not due is a lease that is not due. Due hints are checked
        // against their jobs.
        const due = (await activeJobs.find(LIVE).toArray())
          .filter((hint) => hint.leaseExpiresAt === null || hint.leaseExpiresAt < at)
          .sort((a, b) => (a.leaseExpiresAt ?? 0) - (b.leaseExpiresAt ?? 0) || a._id.localeCompare(b._id));
        const expired = (job: JobRecord) => job.leaseExpiresAt !== null && job.leaseExpiresAt < at;
        const found = (await checkHints(due, 'active', n, (job) => expired(job))).map(({ hint, job }) => ({
          hint,
          job: withRenewal(job, hint),
        }));
        // Leases whose job holds a later expiry than their hint (set by `updateJob`): bring the
        // hints up to date, so that the next sweeps skip them until they are due.
        await Promise.all(
          found
            .filter(({ hint, job }) => !expired(job) && job.leaseExpiresAt !== hint.leaseExpiresAt)
            .map(({ hint, job }) =>
              activeJobs
                .updateOne({ _id: hint._id }, { $max: { leaseExpiresAt: job.leaseExpiresAt } })
                .catch(() => undefined),
            ),
        );
        return found
          .map(({ job }) => job)
          .filter(expired)
          .sort((a, b) => (a.leaseExpiresAt ?? 0) - (b.leaseExpiresAt ?? 0) || a._id.localeCompare(b._id));
      });
    },
    findJobsOfAgent(agentId) {
      return call(`findJobsOfAgent ${agentId}`, async () => {
        const hints = (await activeJobs.find(LIVE).toArray()).filter((hint) => hint.agentId === agentId);
        const found = await checkHints(hints, 'active', hints.length);
        return found.map(({ hint, job }) => withRenewal(job, hint)).filter((job) => job.agentId === agentId);
      });
    },

    countQueuedJobs() {
      return call('countQueuedJobs', async () => {
        // The ready hints carry the labels their job requires: counting them reads no job.
        // A hint whose job just left the queue counts until a reader or `updateJob` retires it.
        const hints = await readyJobs.find(LIVE, { projection: { labels: 1 } }).toArray();
        const depth = new Map<string, QueueDepth>();
        for (const hint of hints) {
          const labels = [...(hint.labels ?? [])].sort();
          const key = JSON.stringify(labels);
          const entry = depth.get(key);
          if (entry) entry.count++;
          else depth.set(key, { labels, count: 1 });
        }
        return [...depth.values()];
      });
    },

    appendLogChunks(chunks) {
      return call('appendLogChunks', async () => {
        if (chunks.length === 0) return 0;
        const docs = await Promise.all(chunks.map(encodeLogChunk));
        try {
          return (await logChunks.insertMany(docs, { ordered: false })).insertedCount;
        } catch (error) {
          // A resent chunk is a duplicate key: ignore those, count what was new.
          if (!isOnlyDuplicates(error)) throw error;
          return error.insertedCount;
        }
      });
    },
    readLogChunks(jobId, after, limit = 1000) {
      return call(`readLogChunks ${jobId}`, async () => {
        const { chunks = 1000, bytes } = typeof limit === 'number' ? { chunks: limit } : limit;
        const n = Math.floor(chunks);
        if (!(n > 0)) return [];
        const query = (from: typeof after, count: number) =>
          logChunks
            .find(
              from
                ? {
                    jobId,
                    $or: [{ attempt: { $gt: from.attempt } }, { attempt: from.attempt, seq: { $gt: from.seq } }],
                  }
                : { jobId },
            )
            .sort({ attempt: 1, seq: 1 })
            .limit(count)
            .toArray();
        if (bytes === undefined) return Promise.all((await query(after, n)).map(decodeLogChunk));
        // A byte-limited read asks for a few chunks at a time, as many as the bytes left would
        // take at the size of the chunks read so far: a read of a huge log holds about `bytes`,
        // whatever size its chunks are and however much a server puts in one batch.
        const read: LogChunkRecord[] = [];
        let size = 0;
        let from = after;
        let count = Math.max(2, Math.ceil(bytes / LOG_BYTES_PER_CHUNK_GUESS));
        while (read.length < n && size < bytes) {
          const want = Math.min(n - read.length, count);
          const docs = await query(from, want);
          for (const doc of docs) {
            const chunk = await decodeLogChunk(doc);
            read.push(chunk);
            size += Buffer.byteLength(chunk.text);
            if (size >= bytes) break;
          }
          const last = read.at(-1);
          if (docs.length < want || !last) break;
          from = { attempt: last.attempt, seq: last.seq };
          count = Math.min(1000, Math.max(2, Math.ceil((bytes - size) / Math.max(1, size / read.length)) + 1));
        }
        return read;
      });
    },

    putArtifact(meta, data) {
      // Writes of one id from this store go one after another: FerretDB applies a
      // findOneAndReplace as a read then a write, so two at once could both see the same
      // previous file and leave the metadata pointing at a file the other deleted.
      return artifactWrites.run(meta._id, () => putArtifactNow(meta, data));
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
        // Every agent call looks its agent up by token hash. Found once, the agent is read by
        // `_id` (which FerretDB serves from its index, unlike any other filter) and its hash
        // checked, so a changed token or a re-registered agent is never mistaken for this one.
        const known = agentIdsByTokenHash.get(hash);
        if (known !== undefined) {
          const doc = await agents.findOne({ _id: known });
          if (doc?.tokenHash === hash) return decode<AgentRecord>(doc);
          agentIdsByTokenHash.delete(hash);
        }
        const doc = await agents.findOne({ tokenHash: hash });
        if (!doc) return null;
        if (agentIdsByTokenHash.size >= AGENT_IDS_BY_TOKEN_HASH) agentIdsByTokenHash.clear();
        agentIdsByTokenHash.set(hash, doc._id);
        return decode<AgentRecord>(doc);
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
    findSilentAgents(before, limit) {
      return call('findSilentAgents', async () => {
        const docs = await agents
          .find({ state: { $ne: 'gone' }, lastHeartbeatAt: { $lt: before } })
          .sort({ lastHeartbeatAt: 1, _id: 1 })
          .limit(limit)
          .toArray();
        return docs.map((doc) => decode<AgentRecord>(doc));
      });
    },
    removeGoneAgent(id) {
      return call(`removeGoneAgent ${id}`, async () => {
        return (await agents.deleteOne({ _id: id, state: 'gone' })).deletedCount === 1;
      });
    },

    ...createMongoTokens(db, call),
    ...createMongoSecrets(db, call),

    // ---- schedules and events ----

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
    wakeupMode(): WakeupMode {
      return wakeupMode;
    },

    notify(topic, options) {
      if (!closed) {
        // Coalesce the notifications of one synchronous burst into one write.
        if (pendingTopics.size === 0) queueMicrotask(flushWakeups);
        pendingTopics.add(topic);
        const within = options?.within ?? 0;
        if (within > WAKEUP_MIN_SPACING_MS) spacing.set(topic, Math.min(within, WAKEUP_MAX_SPACING_MS));
        else spacing.delete(topic);
      }
      events.emit(topic);
    },
    subscribe(topic, listener) {
      events.on(topic, listener);
      startWakeups();
      return () => {
        events.off(topic, listener);
      };
    },
    async ping() {
      await call('ping', () => db.command({ ping: 1 }));
    },
    async close() {
      if (closed) return;
      closed = true;
      if (pollTimer) clearTimeout(pollTimer);
      if (purgeTimer) clearInterval(purgeTimer);
      if (stream) track(stream.close());
      flushWakeups();
      for (const done of [...pauses]) done();
      await polling;
      await Promise.all([...inflight]);
      events.removeAllListeners();
      if (ownsClient) await client.close();
    },
  };
}
