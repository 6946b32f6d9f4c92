import { EventEmitter } from 'node:events';
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

/** Options of the in-process store. */
export interface MemoryStoreOptions {
  /** Clock used for decision timestamps. @default Date.now */
  now?: () => number;
}

const clone = <T>(value: T): T => structuredClone(value);

/**
 * The in-process Store: the embedded default of `hiveforge run`, and the reference the contract
 * tests hold every adapter to. Everything it returns is a copy, as from a database.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const now = options.now ?? Date.now;
  const decisions = new Map<string, Decision<unknown>>();
  const versions = new Map<string, PipelineVersionRecord>();
  const pipelines = new Map<string, PipelineRecord>();
  const runs = new Map<string, RunRecord>();
  const jobs = new Map<string, JobRecord>();
  const jobsByRun = new Map<string, string[]>();
  const queued = new Set<string>();
  const active = new Set<string>();
  const logs = new Map<string, LogChunkRecord[]>();
  const logIds = new Set<string>();
  const artifacts = new Map<string, { meta: ArtifactRecord; data: Buffer }>();
  const agents = new Map<string, AgentRecord>();
  const tokens = new Map<string, TokenRecord>();
  const events = new EventEmitter();
  events.setMaxListeners(0);

  const index = (job: JobRecord) => {
    if (job.state === 'queued') queued.add(job._id);
    else queued.delete(job._id);
    if (job.state === 'leased' || job.state === 'running') active.add(job._id);
    else active.delete(job._id);
  };

  return {
    async decide<T extends object>(id: string, data: T): Promise<Decided<T>> {
      const existing = decisions.get(id) as Decision<T> | undefined;
      if (existing) return { won: false, decision: clone(existing) };
      const decision: Decision<T> = { _id: id, at: now(), data: clone(data) };
      decisions.set(id, decision);
      return { won: true, decision: clone(decision) };
    },
    async getDecision<T>(id: string) {
      const d = decisions.get(id);
      return d ? (clone(d) as Decision<T>) : null;
    },

    async putPipelineVersion(version) {
      if (!versions.has(version._id)) versions.set(version._id, clone(version));
    },
    async getPipelineVersion(id) {
      const v = versions.get(id);
      return v ? clone(v) : null;
    },
    async setPipelineHead(name, versionId, at) {
      pipelines.set(name, { _id: name, versionId, updatedAt: at });
    },
    async getPipeline(name) {
      const p = pipelines.get(name);
      return p ? clone(p) : null;
    },
    async listPipelines() {
      return [...pipelines.values()].map(clone).sort((a, b) => a._id.localeCompare(b._id));
    },

    async insertRun(run) {
      if (runs.has(run._id)) throw new Error(`duplicate run ${run._id}`);
      runs.set(run._id, clone(run));
    },
    async getRun(id) {
      const r = runs.get(id);
      return r ? clone(r) : null;
    },
    async updateRun(id, patch) {
      const r = runs.get(id);
      if (r) Object.assign(r, clone(patch));
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
        .map(clone);
    },
    async lastRunNumber(pipeline) {
      let max = 0;
      for (const r of runs.values()) if (r.pipeline === pipeline && r.number > max) max = r.number;
      return max;
    },

    async insertJobs(list) {
      for (const job of list) if (jobs.has(job._id)) throw new Error(`duplicate job ${job._id}`);
      for (const job of list) {
        const copy = clone(job);
        jobs.set(job._id, copy);
        const ids = jobsByRun.get(job.runId) ?? [];
        ids.push(job._id);
        jobsByRun.set(job.runId, ids);
        index(copy);
      }
    },
    async getJob(id) {
      const j = jobs.get(id);
      return j ? clone(j) : null;
    },
    async listJobs(runId) {
      return (jobsByRun.get(runId) ?? []).map((id) => clone(jobs.get(id) as JobRecord));
    },
    async updateJob(id: string, patch: JobPatch, guard?: JobGuard) {
      const job = jobs.get(id);
      if (!job) return false;
      if (guard?.states && !guard.states.includes(job.state)) return false;
      if (guard?.attempt !== undefined && guard.attempt !== job.attempt) return false;
      Object.assign(job, clone(patch));
      index(job);
      return true;
    },
    async findQueuedJobs(limit) {
      return [...queued]
        .map((id) => jobs.get(id) as JobRecord)
        .sort((a, b) => (a.readyAt ?? 0) - (b.readyAt ?? 0) || a._id.localeCompare(b._id))
        .slice(0, limit)
        .map(clone);
    },
    async findExpiredLeases(at, limit) {
      const out: JobRecord[] = [];
      for (const id of active) {
        const job = jobs.get(id) as JobRecord;
        if (job.leaseExpiresAt !== null && job.leaseExpiresAt < at) out.push(clone(job));
        if (out.length >= limit) break;
      }
      return out;
    },
    async findJobsOfAgent(agentId) {
      return [...active]
        .map((id) => jobs.get(id) as JobRecord)
        .filter((j) => j.agentId === agentId)
        .map(clone);
    },

    async appendLogChunks(chunks) {
      let added = 0;
      for (const chunk of chunks) {
        if (logIds.has(chunk._id)) continue;
        logIds.add(chunk._id);
        const list = logs.get(chunk.jobId) ?? [];
        list.push(clone(chunk));
        logs.set(chunk.jobId, list);
        added++;
      }
      return added;
    },
    async readLogChunks(jobId, after, limit = 1000) {
      return (logs.get(jobId) ?? [])
        .filter((c) => !after || c.attempt > after.attempt || (c.attempt === after.attempt && c.seq > after.seq))
        .sort((a, b) => a.attempt - b.attempt || a.seq - b.seq)
        .slice(0, limit)
        .map(clone);
    },

    async putArtifact(meta, data) {
      artifacts.set(meta._id, { meta: clone(meta), data: Buffer.from(data) });
    },
    async getArtifact(id) {
      const a = artifacts.get(id);
      return a ? { meta: clone(a.meta), data: Buffer.from(a.data) } : null;
    },
    async listArtifacts(runId) {
      return [...artifacts.values()].filter((a) => a.meta.runId === runId).map((a) => clone(a.meta));
    },

    async putAgent(agent) {
      agents.set(agent._id, clone(agent));
    },
    async getAgent(id) {
      const a = agents.get(id);
      return a ? clone(a) : null;
    },
    async getAgentByTokenHash(hash) {
      for (const a of agents.values()) if (a.tokenHash === hash) return clone(a);
      return null;
    },
    async updateAgent(id, patch) {
      const a = agents.get(id);
      if (a) Object.assign(a, clone(patch));
    },
    async listAgents() {
      return [...agents.values()].map(clone);
    },

    async putToken(token) {
      tokens.set(token._id, clone(token));
    },
    async getToken(hash) {
      const t = tokens.get(hash);
      return t ? clone(t) : null;
    },

    notify(topic) {
      events.emit(topic);
    },
    subscribe(topic, listener) {
      events.on(topic, listener);
      return () => events.off(topic, listener);
    },
    async close() {
      events.removeAllListeners();
    },
  };
}
