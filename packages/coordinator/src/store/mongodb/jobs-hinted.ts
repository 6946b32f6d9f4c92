import { ConflictError } from '@hiveforge/sdk';
import { type Document, type Filter, MongoBulkWriteError } from 'mongodb';
import { type ItemOutcome, createGroupCommit } from '../group-commit.js';
import { rotated } from '../queued-order.js';
import type { JobGuard, JobPatch, JobRecord, QueueDepth } from '../types.js';
import { firstDuplicate, labelsFit } from '../types.js';
import { type StoredDoc, decodeJob, definedOf, encodeJob, setOf } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { firstWriteError, isDuplicateKey, isOnlyDuplicates } from './duplicates.js';
import { findByIds } from './find-by-ids.js';
import {
  LIVE,
  type ReadyHint,
  activeHintOf,
  hintId,
  isActive,
  isActiveJob,
  isQueued,
  readyHintOf,
  withRenewal,
} from './hint-records.js';
import type { JobIndex } from './job-index.js';
import { type JobHintsOptions, READY_PAGES, createJobHints } from './job-hints.js';
import { Collections } from './schema.js';

/**
 * The `hinted` job index (see `job-index.ts`): queued and active jobs are found through the job
 * hints (see `job-hints.ts`), for servers that serve nothing but `{ _id }` from an index
 * (FerretDB); lease renewals are kept with those hints, apart from the jobs.
 */
export function createHintedJobs(ctx: MongoStoreContext, options: JobHintsOptions): JobIndex {
  const hints = createJobHints(ctx, options);
  const { listByIdMax } = options;
  const { db, call, idOnlyFilters, background, clock } = ctx;
  const { track } = background;
  const {
    readyJobs,
    activeJobs,
    insertHints,
    retireHints,
    checkHints,
    readReadyHints,
    liveHintsOf,
    repairHints,
    noteLeftQueue,
    noteEnteredQueue,
  } = hints;
  const jobs = db.collection<StoredDoc>(Collections.jobs);
  const runJobs = db.collection<{ _id: string; jobs: string[] }>(Collections.runJobs);

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

  return {
    jobIndex: () => 'hinted',
    close: () => hints.close(),

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
        const hinted = insertHints(
          activeJobs,
          list.filter((job) => isActive(job.state)).map((job) => activeHintOf(job, clock.now())),
        );
        // `_n` keeps the jobs of a run in the order they were inserted (the spec's order).
        const docs: StoredDoc[] = list.map((job, i) => ({ ...encodeJob(job), _n: i }));
        const readyHinted = () =>
          insertHints(
            readyJobs,
            list.flatMap((job, i) => (isQueued(job) ? [readyHintOf(job, clock.now(), docs[i] as StoredDoc)] : [])),
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
    getJob(id) {
      return call(`getJob ${id}`, async () => {
        // The job alone: its renewals are on its `active_jobs` hint, which `getJob` need not read
        // (see `JobStore.getJob`), so that a read of one job is one read.
        const doc = await jobs.findOne({ _id: id });
        return doc ? decodeJob(doc) : null;
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
        const live = await liveHintsOf(activeJobs, active);
        return records.map((job) =>
          isActiveJob(job) ? withRenewal(job, live.get(hintId(job._id, job.attempt)) ?? null) : job,
        );
      });
    },
    updateJob(id: string, patch: JobPatch, guard?: JobGuard) {
      return call(`updateJob ${id}`, async () => {
        // The job the caller decided on is the job as stored (see `JobGuard.decidedOn`): the
        // guard is checked against it, and the hints follow the change from it, unread.
        let current = guard?.decidedOn;
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
        if (enters(isActiveJob)) await insertHints(activeJobs, [activeHintOf(next, clock.now())]);
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
        if (enters(isQueued)) {
          noteEnteredQueue(hintId(id, next.attempt));
          await insertHints(readyJobs, [readyHintOf(next, clock.now())]);
        }
        // ...and the hint of the state it left goes after it, without holding up the caller.
        // Best effort: the job has changed, and a reader retires a hint whose job moved on.
        const left = hintId(id, current.attempt);
        if (leaves(isQueued)) {
          noteLeftQueue(left);
          track(retireHints(readyJobs, [left]));
        }
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
        await insertHints(activeJobs, [{ ...activeHintOf(job, clock.now()), leaseExpiresAt: expiresAt }]);
        await activeJobs.updateOne({ _id: id }, { $max: { leaseExpiresAt: expiresAt } });
        return true;
      });
    },
    findQueuedJobs(limit, query = {}) {
      return call('findQueuedJobs', async () => {
        const { labels, skip } = query;
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const spread = Math.max(0, Math.floor(query.spread ?? 0));
        const fits = (hint: ReadyHint) =>
          (!labels || labelsFit(hint.labels, labels)) && !skip?.(hint.jobId, hint.attempt);
        const byAge = (a: ReadyHint, b: ReadyHint) =>
          (a.readyAt ?? 0) - (b.readyAt ?? 0) || a.jobId.localeCompare(b.jobId);
        // Hints in the order asked for; their jobs are read in that order, until n are queued.
        const ordered = (list: readonly ReadyHint[]) => rotated(list.filter(fits).sort(byAge), spread);
        // The oldest pages first, small then larger; all hints only when the larger page holds
        // too few this pull can take. The first page may be one read lately, and is read afresh
        // when it holds too few. A young hint's copy of its job stands for the job, unread
        // (jobs may come back as they entered the queue: see `JobStore.findQueuedJobs`).
        const first = await readReadyHints(READY_PAGES[0], { reuse: true });
        let found = await checkHints(ordered(first.hints), 'ready', n, undefined, { copies: true });
        const scopes = first.reused ? ([...READY_PAGES, 'all'] as const) : ([...READY_PAGES.slice(1), 'all'] as const);
        if (found.length < n && !first.complete) {
          for (const scope of scopes) {
            const page = await readReadyHints(scope);
            found = await checkHints(ordered(page.hints), 'ready', n, undefined, { copies: true });
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
        const active = (await activeJobs.find(LIVE).toArray()).filter((hint) => hint.agentId === agentId);
        const found = await checkHints(active, 'active', active.length);
        return found.map(({ hint, job }) => withRenewal(job, hint)).filter((job) => job.agentId === agentId);
      });
    },

    countQueuedJobs() {
      return call('countQueuedJobs', async () => {
        // The ready hints carry the labels their job requires: counting them reads no job.
        // A hint whose job just left the queue counts until a reader or `updateJob` retires it.
        const ready = await readyJobs.find(LIVE, { projection: { labels: 1 } }).toArray();
        const depth = new Map<string, QueueDepth>();
        for (const hint of ready) {
          const labels = [...(hint.labels ?? [])].sort();
          const key = JSON.stringify(labels);
          const entry = depth.get(key);
          if (entry) entry.count++;
          else depth.set(key, { labels, count: 1 });
        }
        return [...depth.values()];
      });
    },
  };
}
