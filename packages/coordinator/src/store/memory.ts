import { EventEmitter } from 'node:events';
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
  PipelineVersionRecord,
  RunQuery,
  RunRecord,
  ScheduleRecord,
  Store,
  TokenRecord,
} from './types.js';

/** Options of the in-process store. */
export interface MemoryStoreOptions {
  /** Clock used for decision timestamps. @default Date.now */
  now?: () => number;
}

/** Deeply freezes a value, so a record handed out can be shared instead of copied. */
function freeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freeze(v);
  }
  return value;
}

/** What comes in is copied once and frozen: nothing a caller holds can change what is stored. */
const own = <T>(value: T): T => freeze(structuredClone(value));
/** What goes out is the frozen stored value itself: reads cost no copy. */
const share = <T>(value: T): T => value;

/**
 * The in-process Store: the embedded default of `hiveforge run`, and the reference the contract
 * tests hold every adapter to. Records are frozen: what it returns can be shared, never changed.
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
  const schedules = new Map<string, ScheduleRecord>();
  /** Events in `_id` order. */
  const eventLog: EventRecord[] = [];
  const eventIds = new Set<string>();
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
      if (!versions.has(version._id)) versions.set(version._id, own(version));
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

    async insertRun(run) {
      if (runs.has(run._id)) throw new Error(`duplicate run ${run._id}`);
      runs.set(run._id, own(run));
    },
    async getRun(id) {
      const r = runs.get(id);
      return r ? share(r) : null;
    },
    async updateRun(id, patch) {
      const r = runs.get(id);
      if (r) runs.set(id, own({ ...r, ...patch }));
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

    async insertJobs(list) {
      for (const job of list) if (jobs.has(job._id)) throw new Error(`duplicate job ${job._id}`);
      for (const job of list) {
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
      const updated = own({ ...job, ...patch });
      jobs.set(id, updated);
      index(updated);
      return true;
    },
    async renewLease(jobId, attempt, expiresAt) {
      const job = jobs.get(jobId);
      if (!job || job.attempt !== attempt || (job.state !== 'leased' && job.state !== 'running')) return false;
      if (job.leaseExpiresAt === null || job.leaseExpiresAt < expiresAt) {
        const updated = own({ ...job, leaseExpiresAt: expiresAt });
        jobs.set(jobId, updated);
        index(updated);
      }
      return true;
    },
    async findQueuedJobs(limit, labels) {
      return [...queued]
        .map((id) => jobs.get(id) as JobRecord)
        .filter((j) => !labels || j.spec.labels.every((l) => labels.includes(l)))
        .sort((a, b) => (a.readyAt ?? 0) - (b.readyAt ?? 0) || a._id.localeCompare(b._id))
        .slice(0, limit)
        .map(share);
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
      return (logs.get(jobId) ?? [])
        .filter((c) => !after || c.attempt > after.attempt || (c.attempt === after.attempt && c.seq > after.seq))
        .sort((a, b) => a.attempt - b.attempt || a.seq - b.seq)
        .slice(0, limit)
        .map(share);
    },

    async putArtifact(meta, data) {
      artifacts.set(meta._id, { meta: own(meta), data: Buffer.from(data) });
    },
    async getArtifact(id) {
      const a = artifacts.get(id);
      return a ? { meta: share(a.meta), data: Buffer.from(a.data) } : null;
    },
    async listArtifacts(runId) {
      return [...artifacts.values()].filter((a) => a.meta.runId === runId).map((a) => share(a.meta));
    },

    async putAgent(agent) {
      agents.set(agent._id, own(agent));
    },
    async getAgent(id) {
      const a = agents.get(id);
      return a ? share(a) : null;
    },
    async getAgentByTokenHash(hash) {
      for (const a of agents.values()) if (a.tokenHash === hash) return share(a);
      return null;
    },
    async updateAgent(id, patch) {
      const a = agents.get(id);
      if (a) agents.set(id, own({ ...a, ...patch }));
    },
    async listAgents() {
      return [...agents.values()].map(share);
    },

    async putToken(token) {
      tokens.set(token._id, own(token));
    },
    async getToken(hash) {
      const t = tokens.get(hash);
      return t ? share(t) : null;
    },

    // ---- schedules and events ----

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
        .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0))
        .map(share);
    },
    async updateSchedule(id, patch, expectedNextFireAt) {
      const s = schedules.get(id);
      if (!s) return false;
      if (expectedNextFireAt !== undefined && s.nextFireAt !== expectedNextFireAt) return false;
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      schedules.set(id, own({ ...s, ...defined }));
      return true;
    },
    async findDueSchedules(at, limit) {
      return [...schedules.values()]
        .filter((s) => s.enabled && s.nextFireAt !== null && s.nextFireAt <= at)
        .sort((a, b) => (a.nextFireAt ?? 0) - (b.nextFireAt ?? 0) || (a._id < b._id ? -1 : 1))
        .slice(0, Math.max(0, Math.floor(limit)))
        .map(share);
    },

    async appendEvents(list) {
      for (const event of list) {
        if (eventIds.has(event._id)) continue;
        eventIds.add(event._id);
        // Ids are nearly always appended in order: search from the end.
        let i = eventLog.length;
        while (i > 0 && (eventLog[i - 1] as EventRecord)._id > event._id) i--;
        eventLog.splice(i, 0, own(event));
      }
    },
    async listEvents(query) {
      const n = Math.max(0, Math.floor(query.limit));
      const after = query.after;
      let lo = 0;
      if (after !== undefined) {
        let hi = eventLog.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if ((eventLog[mid] as EventRecord)._id <= after) lo = mid + 1;
          else hi = mid;
        }
      }
      return eventLog.slice(lo, lo + n).map(share);
    },
    async deleteEventsBefore(id) {
      let n = 0;
      while (n < eventLog.length && (eventLog[n] as EventRecord)._id < id) n++;
      for (const event of eventLog.splice(0, n)) eventIds.delete(event._id);
      return n;
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
    async close() {
      events.removeAllListeners();
    },
  };
}
