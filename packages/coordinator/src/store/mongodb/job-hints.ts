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
// `JobStore.findQueuedJobs`; copies are taken while the hint is younger than `COPY_TRUSTED_MS`).
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
import type { Collection, Document } from 'mongodb';
import { type GroupCommitOptions, createGroupCommit } from '../group-commit.js';
import type { JobRecord } from '../types.js';
import { type StoredDoc, decodeJob } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { ID_READ_BATCH, findByIds } from './find-by-ids.js';
import {
  type ActiveHint,
  LIVE,
  type ReadyHint,
  activeHintOf,
  hintId,
  isActiveJob,
  isQueued,
  readyHintOf,
  verdictOf,
} from './hint-records.js';
import { type Inserted, insertGroup } from './insert-group.js';
import { Collections } from './schema.js';

/**
 * The copy of its job a ready hint holds is taken without reading the job while the hint is
 * younger than this (see `JobStore.findQueuedJobs`). A hint whose job was leased is retired by the
 * lease's coordinator just after; one it did not retire (it died) costs the pulls that take its
 * copy a lost lease race each, until it is this old: then it is read like any hint, and retired.
 */
const COPY_TRUSTED_MS = 60_000;
/**
 * The `active_jobs` hint of an attempt that ended is retired after the job's update, and nobody
 * waits on it; until it goes, readers check it against its job like any hint, and find it stale.
 * While the store is busy a retirement waits this long for more, like an event append. (Ready
 * hints are retired at once: the queue depth counts them.)
 */
const ACTIVE_RETIRE_LINGER: GroupCommitOptions = { lingerMs: 20 };
/**
 * How many of the oldest ready hints a pull reads first, then next: a page costs the server in
 * proportion to its hints (FerretDB decodes each), so the first is small. Only when fewer than it
 * needs of the larger one fit its labels (and are not skipped) does it read them all.
 */
export const READY_PAGES = [16, 128] as const;
/**
 * A full first page of ready hints is used again by the pulls of the next this many ms instead
 * of being read again: under load, pulls come one after another, and the oldest hints do not
 * change but by leases (which the pulls skip, or find out by their lease decision, or by the job
 * read a candidate gets when its copy is not taken).
 * Jobs that become ready meanwhile are younger than every hint of a full page, so none is
 * passed over. A pull that finds nothing it can take in a page used again reads it afresh.
 */
export const READY_PAGE_REUSE_MS = 100;
/** How often a store deletes the hints it and others retired (on servers where deletes scan). */
const HINT_PURGE_INTERVAL_MS = 2_000;
/**
 * On servers that serve only `_id` filters from an index (FerretDB), `listJobs` reads the jobs
 * of a run of at most this many jobs one by one by `_id`, from the run's `run_jobs` entry: a
 * query on `runId` there reads every job stored, so its cost grows with the history, while the
 * reads by `_id` cost as many reads as the run has jobs. A larger run is read by the query.
 */
export const LIST_BY_ID_MAX = 512;
/** `listJobs` re-creates the missing hints of a run's jobs at most this often per run. */
const HINT_REPAIR_INTERVAL_MS = 5_000;

/** Options of `createJobHints`. */
export interface JobHintsOptions {
  /** Whether hints are retired by marking them `gone` (see "job hints"), or deleted. */
  retireByUpdate: boolean;
  /** See `MongoStoreOptions.readyPageReuseMs`. */
  readyPageReuseMs: number;
  /** See `MongoStoreOptions.listByIdMax`. */
  listByIdMax: number;
  /** True once the store is closed. */
  isClosed: () => boolean;
}

/** The ready and active job hints of a store (see "job hints"). */
export type JobHints = ReturnType<typeof createJobHints>;

/** Creates the job hints of a store; `close` stops their periodic purge. */
export function createJobHints(ctx: MongoStoreContext, options: JobHintsOptions) {
  const { db, idOnlyFilters, background, clock } = ctx;
  const { track } = background;
  const { retireByUpdate, readyPageReuseMs, listByIdMax, isClosed } = options;
  const jobs = db.collection<StoredDoc>(Collections.jobs);
  const readyJobs = db.collection<ReadyHint>(Collections.readyJobs);
  const activeJobs = db.collection<ActiveHint>(Collections.activeJobs);
  const insertReadyHints = insertGroup(readyJobs);
  const insertActiveHints = insertGroup(activeJobs);

  /**
   * Inserts hints; one that exists already is fine (its content is fixed by its `_id`), but for
   * the agent of an active hint: an attempt whose first lease was decided but never recorded
   * (its coordinator lost the store after writing the hint) is leased again as the same attempt
   * (see `DecisionIds.lease`), and its hint then names the new lease's agent.
   */
  const insertHints = async <H extends ReadyHint | ActiveHint>(collection: Collection<H>, hints: H[]) => {
    if (hints.length === 0) return;
    const active = (collection as unknown) === activeJobs;
    const insert = active ? insertActiveHints : insertReadyHints;
    const outcomes = await (insert as unknown as (docs: readonly H[]) => Promise<Inserted[]>)(hints);
    if (!retireByUpdate && !active) return;
    const hintsOf = collection as unknown as Collection<ReadyHint | ActiveHint>;
    for (const [i, hint] of hints.entries()) {
      if (outcomes[i] !== 'duplicate') continue;
      const existing = await hintsOf.findOne({ _id: hint._id });
      if (!existing) continue;
      // A hint written again (a repair) may find its retired self not yet purged: revive it.
      const revive = retireByUpdate && existing.gone === true;
      const released = active && (existing as ActiveHint).agentId !== (hint as ActiveHint).agentId;
      if (revive || released)
        await hintsOf.updateOne({ _id: hint._id }, { $set: retireByUpdate ? { ...hint, gone: false } : { ...hint } });
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

  /**
   * The ready hints whose job this store took out of the queue, with when, for
   * `COPY_TRUSTED_MS` (after which no copy is taken anyway): their copies are not taken (the job
   * is read, and the hint found stale), so that this store's own changes are seen by its next
   * `findQueuedJobs` even before the hint's retirement has landed.
   */
  const leftQueue = new Map<string, number>();
  const noteLeftQueue = (id: string) => {
    const now = clock.now();
    leftQueue.delete(id);
    leftQueue.set(id, now);
    for (const [old, at] of leftQueue) {
      if (now - at < COPY_TRUSTED_MS) break;
      leftQueue.delete(old);
    }
  };
  const noteEnteredQueue = (id: string) => leftQueue.delete(id);

  /** The last full first page read, and when its read started (see `READY_PAGE_REUSE_MS`). */
  let lastFirstPage: { hints: ReadyHint[]; startedAt: number } | null = null;

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
      return copies && job && clock.now() - hint.at < COPY_TRUSTED_MS && !leftQueue.has(hint._id) ? job : null;
    };
    const found: { hint: H; job: JobRecord }[] = [];
    const stale: string[] = [];
    let counted = 0;
    for (let i = 0; i < hints.length && counted < limit; ) {
      const batch = hints.slice(i, i + Math.min(limit - counted, ID_READ_BATCH));
      i += batch.length;
      const docs = await Promise.all(batch.map((hint) => copyOf(hint) ?? readForCheck(hint.jobId)));
      batch.forEach((hint, k) => {
        const doc = docs[k] ?? null;
        const verdict = verdictOf(hint, doc, kind, clock.now());
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
  const readReadyHints = (
    scope: number | 'all',
    { reuse = false }: { reuse?: boolean } = {},
  ): Promise<{ hints: ReadyHint[]; complete: boolean; reused?: boolean }> => {
    if (reuse && scope === READY_PAGES[0] && lastFirstPage && clock.now() - lastFirstPage.startedAt < readyPageReuseMs)
      return Promise.resolve({ hints: lastFirstPage.hints, complete: false, reused: true });
    let read = readyReads.get(scope);
    if (!read) {
      const startedAt = clock.now();
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
    const started = clock.now();
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
      if (isQueued(job)) await insertHints(readyJobs, [readyHintOf(job, clock.now())]);
      else await insertHints(activeJobs, [activeHintOf(job, clock.now())]);
    }
  };

  // Retired hints pile up only where they are marked rather than deleted: delete them in one
  // pass now and then.
  let purging = false;
  const purgeTimer = retireByUpdate
    ? setInterval(() => {
        if (purging || isClosed()) return;
        purging = true;
        track(
          purgeRetiredHints().finally(() => {
            purging = false;
          }),
        );
      }, HINT_PURGE_INTERVAL_MS)
    : null;
  purgeTimer?.unref();

  return {
    readyJobs,
    activeJobs,
    insertHints,
    retireHints,
    checkHints,
    readReadyHints,
    liveHintsOf,
    repairHints,
    /** Notes that this store took the job of a ready hint out of the queue (see `leftQueue`). */
    noteLeftQueue,
    /** Notes that this store put the job of a ready hint (back) in the queue. */
    noteEnteredQueue,
    /** Stops the periodic purge. */
    close() {
      if (purgeTimer) clearInterval(purgeTimer);
    },
  };
}
