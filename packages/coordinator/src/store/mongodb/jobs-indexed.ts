/**
 * The `indexed` job index (see `job-index.ts`): queued and leased jobs are found by queries on
 * `jobs` that compound indexes serve, guards are part of each update's filter, and a lease's
 * renewals are written to its job. For servers whose planner uses secondary indexes and whose
 * updates change only the fields they name (MongoDB).
 */
import type { Db, Document, Filter } from 'mongodb';
import { rotated } from '../queued-order.js';
import type { JobGuard, JobPatch, JobRecord, QueueDepth } from '../types.js';
import { firstDuplicate, labelsFit } from '../types.js';
import { ConflictError } from '@hiveforge/sdk';
import { type StoredDoc, decodeJob, encodeJob, setOf } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { hintId } from './hint-records.js';
import type { JobIndex } from './job-index.js';
import { insertJobDocs } from './job-inserts.js';
import { Collections } from './schema.js';

/** The states of a leased or running job. */
const ACTIVE_STATES = ['leased', 'running'];

/**
 * How many of the oldest queued jobs a pull reads first, then next; all of them only when fewer
 * than it needs of the larger page fit its labels (and are not skipped).
 */
const QUEUED_PAGES = [16, 128] as const;

/** The indexes the indexed job queries need, beside `{ runId: 1 }` (see `schema.ts`). */
const JOB_INDEXES: Document[] = [
  // `findQueuedJobs`, `countQueuedJobs`: queued jobs, oldest ready first.
  { state: 1, readyAt: 1, _id: 1 },
  // `findExpiredLeases`: leased and running jobs, earliest expiry first.
  { state: 1, leaseExpiresAt: 1 },
  // `findJobsOfAgent`.
  { agentId: 1, state: 1 },
];

/** Creates the indexes of the indexed job queries (idempotent, like every `createIndex`). */
export async function ensureJobIndexes(db: Db): Promise<void> {
  const jobs = db.collection(Collections.jobs);
  for (const keys of JOB_INDEXES) await jobs.createIndex(keys);
}

/** The labels a stored job requires: `_labels`, or its spec's for jobs stored without it. */
const labelsOf = (doc: Document): string[] => {
  if (Array.isArray(doc._labels)) return doc._labels as string[];
  const spec = typeof doc._spec === 'string' ? JSON.parse(doc._spec) : doc.spec;
  return [...(spec?.labels ?? [])];
};

/** Oldest ready first, then by id, as the hinted index and the memory store order them. */
const byAge = (a: JobRecord, b: JobRecord) => (a.readyAt ?? 0) - (b.readyAt ?? 0) || a._id.localeCompare(b._id);

/** Creates the indexed job index. */
export function createIndexedJobs(ctx: MongoStoreContext): JobIndex {
  const { db, call } = ctx;
  const jobs = db.collection<StoredDoc>(Collections.jobs);
  /**
   * Renewals a store of the previous version wrote to the attempt's `active_jobs` hint, during a
   * rolling upgrade: a lease that looks expired is checked there before it is reported.
   */
  const legacyRenewals = db.collection<{ _id: string; attempt: number; leaseExpiresAt: number | null }>(
    Collections.activeJobs,
  );

  return {
    jobIndex: () => 'indexed',
    close() {},

    insertJobs(list, options) {
      return call('insertJobs', async () => {
        if (list.length === 0) return;
        const duplicate = firstDuplicate(list.map((job) => job._id));
        if (duplicate !== undefined) throw new ConflictError(`duplicate job ${duplicate}`);
        // `_n` keeps the jobs of a run in the order they were inserted (the spec's order);
        // `_labels` lets a pull filter by labels without parsing the spec.
        const docs = list.map((job, i) => ({ ...encodeJob(job), _n: i, _labels: [...job.spec.labels] }));
        await insertJobDocs(jobs, docs, options?.keepExisting === true);
      });
    },
    getJob(id) {
      return call(`getJob ${id}`, async () => {
        const doc = await jobs.findOne({ _id: id });
        return doc ? decodeJob(doc) : null;
      });
    },
    listJobs(runId) {
      return call(`listJobs ${runId}`, async () => {
        const docs = await jobs.find({ runId }).toArray();
        return docs
          .sort((a, b) => Number(a._n) - Number(b._n) || a._id.localeCompare(b._id))
          .map((doc) => decodeJob(doc));
      });
    },
    updateJob(id: string, patch: JobPatch, guard?: JobGuard) {
      return call(`updateJob ${id}`, async () => {
        const fields = setOf(patch);
        const filter: Filter<StoredDoc> = { _id: id };
        if (guard?.states) filter.state = { $in: [...guard.states] };
        if (guard?.attempt !== undefined) filter.attempt = guard.attempt;
        if (!fields) return (await jobs.countDocuments(filter, { limit: 1 })) === 1;
        return (await jobs.updateOne(filter, { $set: fields })).matchedCount === 1;
      });
    },
    renewLease(jobId, attempt, expiresAt) {
      return call(`renewLease ${jobId}`, async () => {
        // One update, guarded by the attempt and its state: a renewal never outlives its attempt
        // and changes nothing but the expiry (renewals only extend it).
        const filter = { _id: jobId, attempt, state: { $in: ACTIVE_STATES } };
        return (await jobs.updateOne(filter, { $max: { leaseExpiresAt: expiresAt } })).matchedCount === 1;
      });
    },
    findQueuedJobs(limit, query = {}) {
      return call('findQueuedJobs', async () => {
        const { labels, skip } = query;
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const spread = Math.max(0, Math.floor(query.spread ?? 0));
        const fits = (doc: StoredDoc) =>
          (!labels || labelsFit(labelsOf(doc), labels)) && !skip?.(doc._id, Number(doc.attempt));
        // The oldest pages first, small then larger, all queued jobs only when the larger page
        // holds too few this pull can take: from the index on `{ state, readyAt, _id }`.
        for (const size of [...QUEUED_PAGES, 0]) {
          const cursor = jobs.find({ state: 'queued' }).sort({ readyAt: 1, _id: 1 });
          const page = await (size > 0 ? cursor.limit(size) : cursor).toArray();
          const eligible = page.filter(fits).map((doc) => decodeJob(doc));
          const complete = size === 0 || page.length < size;
          if (eligible.length >= spread + n || complete) return rotated(eligible.sort(byAge), spread).slice(0, n);
        }
        return [];
      });
    },
    findExpiredLeases(at, limit) {
      return call('findExpiredLeases', async () => {
        const n = Math.floor(limit);
        if (!(n > 0)) return [];
        const due = await jobs
          .find({ state: { $in: ACTIVE_STATES }, leaseExpiresAt: { $lt: at } })
          .sort({ leaseExpiresAt: 1, _id: 1 })
          .limit(n)
          .toArray();
        const expired: JobRecord[] = [];
        for (const doc of due) {
          const job = decodeJob(doc);
          const legacy = await legacyRenewals.findOne({ _id: hintId(job._id, job.attempt) });
          if (legacy?.attempt === job.attempt && legacy.leaseExpiresAt !== null && legacy.leaseExpiresAt >= at)
            continue;
          expired.push(job);
        }
        return expired.sort((a, b) => (a.leaseExpiresAt ?? 0) - (b.leaseExpiresAt ?? 0) || a._id.localeCompare(b._id));
      });
    },
    findJobsOfAgent(agentId) {
      return call(`findJobsOfAgent ${agentId}`, async () => {
        const docs = await jobs.find({ agentId, state: { $in: ACTIVE_STATES } }).toArray();
        return docs.map((doc) => decodeJob(doc));
      });
    },
    countQueuedJobs() {
      return call('countQueuedJobs', async () => {
        // Only the labels of each queued job: `_labels`, or the spec of one stored without it.
        const docs = await jobs.find({ state: 'queued' }, { projection: { _labels: 1 } }).toArray();
        const depth = new Map<string, QueueDepth>();
        for (const doc of docs) {
          const stored = Array.isArray(doc._labels) ? doc : await jobs.findOne({ _id: doc._id });
          if (!stored) continue;
          const labels = labelsOf(stored).sort();
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
