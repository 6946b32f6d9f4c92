import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConflictError, StoreUnavailableError } from '@hiveforge/sdk';
import { type Clock, systemClock } from '../clock.js';
import { createFileBlobStore } from './blob-files.js';
import { rotated } from './queued-order.js';
import { createMemoryEvents } from './memory-events.js';
import { createMemorySecrets } from './memory-secrets.js';
import { createMemoryTokens } from './memory-tokens.js';
import { DispatchOrder, compareIds, queueKey } from './dispatch-order.js';
import { freeze, own, patched, share } from './frozen-copy.js';
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
  PipelineVersionQuery,
  PipelineVersionRecord,
  PipelineVersionSummary,
  QueueDepth,
  RunQuery,
  RunRecord,
  ScheduleRecord,
  Store,
} from './types.js';
import { firstDuplicate, labelsFit } from './types.js';
import { createDirectoryCaches } from './directory-caches.js';

/** Options of the in-process store. */
export interface MemoryStoreOptions {
  /** The store's time: decision timestamps. @default systemClock */
  clock?: Clock;
  /**
   * The time of decisions, as before `clock` existed.
   * @deprecated pass `clock`
   * @default clock.now
   */
  now?: () => number;
  /**
   * The directory blobs (artifact and cache archives) are kept in, one file per content, named
   * by its SHA-256 (`blob-files.ts`). The store creates it with the first blob, and on `close()`
   * deletes the files it wrote but leaves the directory. Without it, the store uses a fresh
   * directory under the system's temporary directory and deletes it on `close()`.
   * @default a new directory under `os.tmpdir()`
   */
  artifactsDir?: string;
  /**
   * The directory cache entries are kept in (see `directory-caches.ts`): they outlive the store,
   * so `hiveforge run` keeps its caches between local runs in `.hiveforge/cache`. Without it,
   * the store uses a fresh directory under the system's temporary directory (created with the
   * first entry) and deletes it on `close()`.
   * @default a new directory under `os.tmpdir()`
   */
  cachesDir?: string;
}

/** The in-process Store, and where it keeps blobs. */
export interface MemoryStore extends Store {
  /** The directory holding blobs (created with the first one). */
  readonly artifactsDir: string;
}

/**
 * The in-process Store: the embedded default of `hiveforge run`, and the reference the contract
 * tests hold every adapter to. Records are frozen: what it returns can be shared, never changed.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  const ownsDir = options.artifactsDir === undefined;
  const artifactsDir = resolve(options.artifactsDir ?? join(tmpdir(), `hiveforge-artifacts-${randomUUID()}`));
  const ownsCachesDir = options.cachesDir === undefined;
  const cachesDir = resolve(options.cachesDir ?? join(tmpdir(), `hiveforge-caches-${randomUUID()}`));
  const decisions = new Map<string, Decision<unknown>>();
  const versions = new Map<string, PipelineVersionRecord>();
  const pipelines = new Map<string, PipelineRecord>();
  const runs = new Map<string, RunRecord>();
  const jobs = new Map<string, JobRecord>();
  const jobsByRun = new Map<string, string[]>();
  const queued = new DispatchOrder();
  const active = new Set<string>();
  const logs = new Map<string, LogChunkRecord[]>();
  const logIds = new Set<string>();
  /** Artifact records; the bytes are blobs in `artifactsDir`. */
  const artifacts = new Map<string, ArtifactRecord>();
  const files = createFileBlobStore({ dir: artifactsDir, recursive: !ownsDir, now });
  const caches = createDirectoryCaches(cachesDir, now);
  /** The blobs this store wrote (deleted on close) and the puts under way. */
  const written = new Set<string>();
  const blobWrites = new Set<Promise<unknown>>();
  let closed = false;
  const ensureOpen = (what: string) => {
    if (closed) throw new StoreUnavailableError(`the memory store is closed (${what})`);
  };
  const versionsByPipeline = new Map<string, string[]>();
  const agents = new Map<string, AgentRecord>();
  /** Agent ids by token hash (see `getAgentByTokenHash`). */
  const agentsByTokenHash = new Map<string, string>();
  const schedules = new Map<string, ScheduleRecord>();
  const events = new EventEmitter();
  events.setMaxListeners(0);

  /** Keeps the indexes in step with a job's new record (`before` is the one it replaces). */
  const index = (job: JobRecord, before?: JobRecord) => {
    const wasQueued = before?.state === 'queued';
    const isQueued = job.state === 'queued';
    if (wasQueued && (!isQueued || before.readyAt !== job.readyAt)) queued.remove(queueKey(before));
    if (isQueued && (!wasQueued || before.readyAt !== job.readyAt)) queued.add(queueKey(job));
    if (job.state === 'leased' || job.state === 'running') active.add(job._id);
    else active.delete(job._id);
  };

  return {
    async decide<T extends object>(id: string, data: T): Promise<Decided<T>> {
      const existing = decisions.get(id) as Decision<T> | undefined;
      if (existing) return { won: false, decision: share(existing) };
      const decision: Decision<T> = own({ _id: id, at: now(), data });
      decisions.set(id, decision);
      return { won: true, decision: share(decision) };
    },
    async getDecision<T>(id: string) {
      const d = decisions.get(id);
      return d ? (share(d) as Decision<T>) : null;
    },

    async putPipelineVersion(version) {
      if (versions.has(version._id)) return;
      versions.set(version._id, own(version));
      const ids = versionsByPipeline.get(version.pipeline) ?? [];
      ids.push(version._id);
      versionsByPipeline.set(version.pipeline, ids);
    },
    async getPipelineVersion(id) {
      const v = versions.get(id);
      return v ? share(v) : null;
    },
    async setPipelineHead(name, versionId, at) {
      pipelines.set(name, own({ _id: name, versionId, updatedAt: at }));
    },
    async getPipeline(name) {
      const p = pipelines.get(name);
      return p ? share(p) : null;
    },
    async listPipelines() {
      return [...pipelines.values()].map(share).sort((a, b) => a._id.localeCompare(b._id));
    },

    async listPipelineVersions(pipeline: string, query: PipelineVersionQuery) {
      const newestFirst = (versionsByPipeline.get(pipeline) ?? [])
        .map((id) => versions.get(id) as PipelineVersionRecord)
        .sort((a, b) => b.createdAt - a.createdAt || compareIds(b._id, a._id));
      let start = 0;
      if (query.before !== undefined) {
        const at = newestFirst.findIndex((v) => v._id === query.before);
        if (at < 0) return [];
        start = at + 1;
      }
      return newestFirst.slice(start, start + Math.max(0, Math.floor(query.limit))).map(
        (v): PipelineVersionSummary =>
          own({
            _id: v._id,
            pipeline: v.pipeline,
            createdAt: v.createdAt,
            entry: v.entry,
            jobs: v.spec.jobs.map((j) => j.name),
          }),
      );
    },

    async insertRun(run) {
      if (runs.has(run._id)) throw new ConflictError(`duplicate run ${run._id}`);
      runs.set(run._id, own(run));
    },
    async getRun(id) {
      const r = runs.get(id);
      return r ? share(r) : null;
    },
    async updateRun(id, patch) {
      const r = runs.get(id);
      if (r) runs.set(id, patched(r, patch));
    },
    async listRuns(query: RunQuery) {
      return [...runs.values()]
        .filter(
          (r) =>
            (query.pipeline === undefined || r.pipeline === query.pipeline) &&
            (query.status === undefined || r.status === query.status) &&
            (query.before === undefined || r.createdAt < query.before),
        )
        .sort((a, b) => b.createdAt - a.createdAt || b.number - a.number)
        .slice(0, query.limit)
        .map(share);
    },
    async lastRunNumber(pipeline) {
      let max = 0;
      for (const r of runs.values()) if (r.pipeline === pipeline && r.number > max) max = r.number;
      return max;
    },

    async insertJobs(list, options) {
      const duplicate = firstDuplicate(list.map((job) => job._id));
      if (duplicate !== undefined) throw new ConflictError(`duplicate job ${duplicate}`);
      if (!options?.keepExisting) {
        for (const job of list) if (jobs.has(job._id)) throw new ConflictError(`duplicate job ${job._id}`);
      }
      for (const job of list) {
        if (jobs.has(job._id)) continue;
        const copy = own(job);
        jobs.set(job._id, copy);
        const ids = jobsByRun.get(job.runId) ?? [];
        ids.push(job._id);
        jobsByRun.set(job.runId, ids);
        index(copy);
      }
    },
    async getJob(id) {
      const j = jobs.get(id);
      return j ? share(j) : null;
    },
    async listJobs(runId) {
      return (jobsByRun.get(runId) ?? []).map((id) => share(jobs.get(id) as JobRecord));
    },
    async updateJob(id: string, patch: JobPatch, guard?: JobGuard) {
      const job = jobs.get(id);
      if (!job) return false;
      if (guard?.states && !guard.states.includes(job.state)) return false;
      if (guard?.attempt !== undefined && guard.attempt !== job.attempt) return false;
      const updated = patched(job, patch);
      jobs.set(id, updated);
      index(updated, job);
      return true;
    },
    async renewLease(jobId, attempt, expiresAt) {
      const job = jobs.get(jobId);
      if (!job || job.attempt !== attempt || (job.state !== 'leased' && job.state !== 'running')) return false;
      if (job.leaseExpiresAt === null || job.leaseExpiresAt < expiresAt) {
        const updated = freeze({ ...job, leaseExpiresAt: expiresAt });
        jobs.set(jobId, updated);
        index(updated, job);
      }
      return true;
    },
    jobIndex: () => 'memory',
    async findQueuedJobs(limit, query = {}) {
      const { labels, skip } = query;
      const spread = Math.max(0, Math.floor(query.spread ?? 0));
      if (limit <= 0) return [];
      const eligible: JobRecord[] = [];
      for (const id of queued.ids()) {
        const job = jobs.get(id) as JobRecord;
        if (labels && !labelsFit(job.spec.labels, labels)) continue;
        if (skip?.(job._id, job.attempt)) continue;
        eligible.push(job);
        if (eligible.length >= spread + limit) break;
      }
      return rotated(eligible, spread).slice(0, limit).map(share);
    },
    async findExpiredLeases(at, limit) {
      const out: JobRecord[] = [];
      for (const id of active) {
        const job = jobs.get(id) as JobRecord;
        if (job.leaseExpiresAt !== null && job.leaseExpiresAt < at) out.push(share(job));
        if (out.length >= limit) break;
      }
      return out;
    },
    async findJobsOfAgent(agentId) {
      return [...active]
        .map((id) => jobs.get(id) as JobRecord)
        .filter((j) => j.agentId === agentId)
        .map(share);
    },

    async countQueuedJobs() {
      const depth = new Map<string, QueueDepth>();
      for (const id of queued.ids()) {
        const labels = [...(jobs.get(id) as JobRecord).spec.labels].sort();
        const key = JSON.stringify(labels);
        const entry = depth.get(key);
        if (entry) entry.count++;
        else depth.set(key, { labels, count: 1 });
      }
      return [...depth.values()];
    },

    async appendLogChunks(chunks) {
      let added = 0;
      for (const chunk of chunks) {
        if (logIds.has(chunk._id)) continue;
        logIds.add(chunk._id);
        const list = logs.get(chunk.jobId) ?? [];
        list.push(own(chunk));
        logs.set(chunk.jobId, list);
        added++;
      }
      return added;
    },
    async readLogChunks(jobId, after, limit = 1000) {
      const { chunks: max = 1000, bytes = Number.POSITIVE_INFINITY } =
        typeof limit === 'number' ? { chunks: limit } : limit;
      const found = (logs.get(jobId) ?? [])
        .filter((c) => !after || c.attempt > after.attempt || (c.attempt === after.attempt && c.seq > after.seq))
        .sort((a, b) => a.attempt - b.attempt || a.seq - b.seq)
        .slice(0, Math.max(0, Math.floor(max)));
      if (bytes === Number.POSITIVE_INFINITY) return found.map(share);
      const read: LogChunkRecord[] = [];
      let size = 0;
      for (const chunk of found) {
        read.push(share(chunk));
        size += Buffer.byteLength(chunk.text);
        if (size >= bytes) break;
      }
      return read;
    },

    async putBlob(source, putOptions) {
      ensureOpen('putBlob');
      const put = files.putBlob(source, putOptions);
      blobWrites.add(put);
      try {
        const blob = await put;
        if (blob.created) written.add(blob.sha256);
        ensureOpen(`putBlob ${blob.sha256}`);
        return blob;
      } finally {
        blobWrites.delete(put);
      }
    },
    async openBlob(sha256) {
      ensureOpen(`openBlob ${sha256}`);
      return files.openBlob(sha256);
    },
    async deleteBlob(sha256) {
      ensureOpen(`deleteBlob ${sha256}`);
      written.delete(sha256);
      await files.deleteBlob(sha256);
    },

    async putArtifact(meta) {
      ensureOpen(`putArtifact ${meta._id}`);
      artifacts.set(meta._id, own(meta));
    },
    async getArtifact(id) {
      const a = artifacts.get(id);
      return a ? share(a) : null;
    },
    async listArtifacts(runId) {
      return [...artifacts.values()].filter((a) => a.runId === runId).map((a) => share(a));
    },

    async putAgent(agent) {
      agents.set(agent._id, own(agent));
      agentsByTokenHash.set(agent.tokenHash, agent._id);
    },
    async getAgent(id) {
      const a = agents.get(id);
      return a ? share(a) : null;
    },
    async getAgentByTokenHash(hash) {
      // Every agent call looks its caller up by token: by index, not by a walk of all agents. An
      // entry whose agent has another token by now (put again) is stale, and not an answer.
      const a = agents.get(agentsByTokenHash.get(hash) ?? '');
      return a?.tokenHash === hash ? share(a) : null;
    },
    async updateAgent(id, patch) {
      const a = agents.get(id);
      if (!a) return;
      agents.set(id, patched(a, patch));
      if (patch.tokenHash !== undefined) agentsByTokenHash.set(patch.tokenHash, id);
    },
    async listAgents() {
      return [...agents.values()].map(share);
    },
    async findSilentAgents(before, limit) {
      return [...agents.values()]
        .filter((a) => a.state !== 'gone' && a.lastHeartbeatAt < before)
        .sort((a, b) => a.lastHeartbeatAt - b.lastHeartbeatAt || (a._id < b._id ? -1 : 1))
        .slice(0, limit)
        .map(share);
    },
    async removeGoneAgent(id) {
      const a = agents.get(id);
      if (a?.state !== 'gone') return false;
      agents.delete(id);
      if (agentsByTokenHash.get(a.tokenHash) === id) agentsByTokenHash.delete(a.tokenHash);
      return true;
    },

    ...createMemoryTokens(),
    ...createMemorySecrets(),
    ...createMemoryEvents(),

    // ---- schedules ----

    async putSchedule(schedule) {
      schedules.set(schedule._id, own(schedule));
    },
    async getSchedule(id) {
      const s = schedules.get(id);
      return s ? share(s) : null;
    },
    async listSchedules(pipeline) {
      return [...schedules.values()]
        .filter((s) => pipeline === undefined || s.pipeline === pipeline)
        .sort((a, b) => compareIds(a._id, b._id))
        .map(share);
    },
    async updateSchedule(id, patch, expectedNextFireAt) {
      const s = schedules.get(id);
      if (!s) return false;
      if (expectedNextFireAt !== undefined && s.nextFireAt !== expectedNextFireAt) return false;
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      schedules.set(id, patched(s, defined));
      return true;
    },
    async findDueSchedules(at, limit) {
      return [...schedules.values()]
        .filter((s) => s.enabled && s.nextFireAt !== null && s.nextFireAt <= at)
        .sort((a, b) => (a.nextFireAt ?? 0) - (b.nextFireAt ?? 0) || compareIds(a._id, b._id))
        .slice(0, Math.max(0, Math.floor(limit)))
        .map(share);
    },

    wakeupMode() {
      return 'local';
    },

    notify(topic) {
      events.emit(topic);
    },
    subscribe(topic, listener) {
      events.on(topic, listener);
      return () => events.off(topic, listener);
    },
    ...caches,
    async collectBlobs(collect) {
      ensureOpen('collectBlobs');
      // One pass covers the artifacts' directory (`a:` cursors), then the caches' (`c:`).
      const after = collect.after ?? null;
      if (after === null || after.startsWith('a:')) {
        const named = new Set([...artifacts.values()].map((a) => a.sha256));
        const done = await files.collect({ ...collect, after: after?.slice(2) ?? null }, (sha) => named.has(sha));
        for (const sha256 of done.deleted) written.delete(sha256);
        return { deleted: done.deleted, next: done.next === null ? 'c:' : `a:${done.next}` };
      }
      const done = await caches.collectCacheBlobs({ ...collect, after: after.slice(2) || null });
      return { deleted: done.deleted, next: done.next === null ? null : `c:${done.next}` };
    },
    get artifactsDir() {
      return artifactsDir;
    },
    async ping() {},
    async close() {
      closed = true;
      events.removeAllListeners();
      await Promise.allSettled([...blobWrites]);
      if (ownsCachesDir) await rm(cachesDir, { recursive: true, force: true });
      if (ownsDir) await rm(artifactsDir, { recursive: true, force: true });
      else await Promise.all([...written].map((sha256) => files.deleteBlob(sha256)));
      written.clear();
      artifacts.clear();
    },
  };
}
