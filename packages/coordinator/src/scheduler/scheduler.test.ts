import { API_VERSION, FencedError, type JobSpec, type PipelineSpec } from '@hiveforge/sdk';
import { MongoClient } from 'mongodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ferretDBForSuite } from '../../../../test/helpers/ferretdb-suite.js';
import { makeJob, makeJobSpec } from '../store/contract.js';
import { createMemoryStore } from '../store/memory.js';
import { createMongoStore } from '../store/mongodb/index.js';
import type { AgentRecord, Store } from '../store/types.js';
import { type ManualClock, createManualClock } from '../clock.js';
import { DecisionIds } from './decision-ids.js';
import { type Scheduler, createScheduler } from './scheduler.js';

const job = makeJobSpec;

const spec = (jobs: JobSpec[]): PipelineSpec => ({
  apiVersion: API_VERSION,
  name: 'p',
  triggers: { push: null, pullRequest: null, schedule: [], manual: null },
  strictImages: false,
  env: { GLOBAL: '1' },
  images: [],
  jobs,
  source: null,
});

/** Stores version v1 of pipeline p, with these jobs, as its head. */
async function deployTo(store: Store, jobs: JobSpec[]): Promise<void> {
  await store.putPipelineVersion({
    _id: 'v1',
    pipeline: 'p',
    spec: spec(jobs),
    bundle: '',
    entry: 'hiveforge.ts',
    createdAt: 0,
  });
  await store.setPipelineHead('p', 'v1', 0);
}

const agentRecord = (id: string, labels: string[] = []): AgentRecord => ({
  _id: id,
  name: id,
  labels,
  state: 'active',
  tokenHash: `hash-${id}`,
  capacity: 1,
  registeredAt: 0,
  lastHeartbeatAt: 0,
  disk: null,
});

const trigger = { event: 'manual' as const, branch: 'main', commit: null, repository: null, inputs: {}, actor: 'test' };
const ok = { status: 'succeeded' as const, exitCode: 0, error: null, outputs: {} };
const failed = { status: 'failed' as const, exitCode: 1, error: 'boom', outputs: {} };

describe('scheduler on the memory store', () => {
  let store: Store;
  let clock: ManualClock;
  let scheduler: Scheduler;
  const a = agentRecord('agent-a');
  const b = agentRecord('agent-b');

  const deploy = (jobs: JobSpec[]) => deployTo(store, jobs);
  const pull = (agent: AgentRecord, requestId = `req-${Math.random()}`) =>
    scheduler.pull(agent, requestId, { waitMs: 0 });
  /** The next pull an agent sends with its completion, which does not wait. */
  const nextOf = (agent: AgentRecord) => ({ agent, requestId: `req-${Math.random()}`, waitMs: 0 });
  /** Records the order of the store calls named, as they are made. */
  const spyCalls = (...names: ('updateRun' | 'findQueuedJobs')[]) => {
    const calls: string[] = [];
    for (const name of names) {
      const call = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        calls.push(name);
        return call(...args);
      };
    }
    return calls;
  };
  /** Decides how attempt 1 of agent-a's job ended, without recording it on the job. */
  const decideEnd = (jobId: string, kind: 'lost' | 'cancelled', retry: boolean) =>
    store.decide(DecisionIds.attemptEnd(jobId, 1), {
      kind,
      agentId: 'agent-a',
      result:
        kind === 'lost'
          ? { status: 'failed', exitCode: null, error: 'lease expired', outputs: {} }
          : { status: 'cancelled', exitCode: null, error: 'the run was cancelled', outputs: {} },
      retry,
    });
  const states = async (runId: string) =>
    Object.fromEntries((await store.listJobs(runId)).map((j) => [j.name, j.state]));

  beforeEach(async () => {
    clock = createManualClock(1_000);
    store = createMemoryStore({ now: () => clock.now() });
    scheduler = createScheduler({ store, clock, options: { leaseTtl: 5_000 } });
    await store.putAgent(a);
    await store.putAgent(b);
  });

  it("a start whose store fails mid-way rejects once, with both of its writes' failures handled", async () => {
    await deploy([job('build')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await pull(a);
    // The store goes away during the start: the job's update fails at once, the start decision
    // a moment later.
    const failing = new Proxy(store, {
      get: (target, property, receiver) =>
        property === 'updateJob'
          ? async () => {
              throw new Error('the store is gone');
            }
          : property === 'decide'
            ? async (id: string, data: object) => {
                if (!id.endsWith('/start')) return target.decide(id, data);
                await new Promise((r) => setTimeout(r, 20));
                throw new Error('the store is gone too');
              }
            : Reflect.get(target, property, receiver),
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const other = createScheduler({ store: failing, clock });
      const fingerprint = {
        executor: 'process',
        imageTag: null,
        imageId: null,
        configHash: 'sha256:0',
        hiveforgeVersion: '0.1.0',
        nodeVersion: 'v20',
      };
      await expect(other.start('agent-a', lease?.jobId ?? '', 1, fingerprint)).rejects.toThrow(/store is gone/);
      await new Promise((r) => setTimeout(r, 60));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a trigger sent again with its key gets the run the first created, finishing it if that coordinator died', async () => {
    await deploy([job('build'), job('test', { needs: ['build'] }), job('lint')]);
    const key = DecisionIds.triggerRequest('p', 'req-1');
    // The first trigger's coordinator dies inside its insert of the run's jobs: one is stored.
    const dying = new Proxy(store, {
      get: (target, property, receiver) =>
        property === 'insertJobs'
          ? async (jobs: Parameters<Store['insertJobs']>[0], options: Parameters<Store['insertJobs']>[1]) => {
              await target.insertJobs(jobs.slice(0, 1), options);
              throw new Error('the coordinator died');
            }
          : Reflect.get(target, property, receiver),
    });
    const first = createScheduler({ store: dying, clock });
    await expect(first.triggerRun({ pipeline: 'p', trigger, key })).rejects.toThrow('the coordinator died');
    expect(await store.getRun('p/1')).toBeNull();
    // A job of a run not stored is never leased.
    expect(await pull(a)).toBeNull();

    // The retry, on another coordinator, creates that run (run 1) once: the job stored is kept.
    const [again, twice] = await Promise.all([
      scheduler.triggerRun({ pipeline: 'p', trigger, key }),
      createScheduler({ store, clock }).triggerRun({ pipeline: 'p', trigger, key }),
    ]);
    expect([again._id, twice._id]).toEqual(['p/1', 'p/1']);
    expect(await states('p/1')).toEqual({ build: 'queued', test: 'waiting', lint: 'queued' });
    expect((await store.listRuns({ limit: 10 })).map((r) => r._id)).toEqual(['p/1']);
    expect((await store.listEvents({ limit: 100 })).filter((e) => e.type === 'run')).toHaveLength(1);
    // Once more: the same run, nothing new. Without a key: a new run.
    expect((await scheduler.triggerRun({ pipeline: 'p', trigger, key }))._id).toBe('p/1');
    expect((await scheduler.triggerRun({ pipeline: 'p', trigger }))._id).toBe('p/2');

    // The key with a trigger that asks for something else is refused, and stores nothing.
    const runs = await store.listRuns({ limit: 10 });
    for (const other of [
      { pipeline: 'p', trigger: { ...trigger, branch: 'feature' }, key },
      { pipeline: 'p', trigger, only: ['lint'], key },
      { pipeline: 'p', trigger: { ...trigger, actor: 'someone-else' }, key },
    ]) {
      await expect(scheduler.triggerRun(other)).rejects.toMatchObject({ code: 'HF_CONFLICT' });
    }
    expect(await store.listRuns({ limit: 10 })).toEqual(runs);
    expect(await store.getDecision(DecisionIds.runNumber('p', 3))).toBeNull();
  });

  it('runs a diamond in dependency order and succeeds the run', async () => {
    await deploy([job('a'), job('b', { needs: ['a'] }), job('c', { needs: ['a'] }), job('d', { needs: ['b', 'c'] })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(run._id).toBe('p/1');
    expect(await states(run._id)).toEqual({ a: 'queued', b: 'waiting', c: 'waiting', d: 'waiting' });
    const order: string[] = [];
    for (let lease = await pull(a); lease; lease = await pull(a)) {
      order.push(lease.name);
      await scheduler.start('agent-a', lease.jobId, lease.attempt);
      await scheduler.complete('agent-a', { jobId: lease.jobId, attempt: lease.attempt, result: ok });
    }
    expect(order[0]).toBe('a');
    expect(order.slice(1, 3).sort()).toEqual(['b', 'c']);
    expect(order[3]).toBe('d');
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('a need that ended on another coordinator is seen: the last need to end queues the dependent', async () => {
    await deploy([job('a'), job('b'), job('d', { needs: ['a', 'b'] })]);
    const other = createScheduler({ store, clock, options: { leaseTtl: 5_000 } });
    // This coordinator triggers the run, so it knows what blocks it: b, the last need of d.
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const holders = new Map<string, string>();
    for (const agent of [a, b]) {
      const lease = await pull(agent);
      holders.set(lease!.name, agent._id);
    }
    const end = (on: Scheduler, name: string) =>
      on.complete(holders.get(name)!, { jobId: `${run._id}/${name}`, attempt: 1, result: ok });
    await end(other, 'b');
    expect((await states(run._id)).d).toBe('waiting');
    await end(scheduler, 'a');
    expect((await states(run._id)).d).toBe('queued');
    const d = await pull(a);
    await other.complete('agent-a', { jobId: d!.jobId, attempt: 1, result: ok });
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('a failed job skips its dependents and fails the run', async () => {
    await deploy([job('a'), job('b', { needs: ['a'] }), job('c', { needs: ['b'] }), job('side')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const first = await pull(a);
    await scheduler.complete('agent-a', { jobId: first!.jobId, attempt: 1, result: first!.name === 'a' ? failed : ok });
    const second = await pull(a);
    await scheduler.complete('agent-a', {
      jobId: second!.jobId,
      attempt: 1,
      result: second!.name === 'a' ? failed : ok,
    });
    expect(await states(run._id)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped', side: 'succeeded' });
    expect((await store.getRun(run._id))?.status).toBe('failed');
    expect((await store.getJob(`${run._id}/c`))?.cause).toBe('needs_failed');
  });

  it('retries a failed job as the next attempt up to `retries`', async () => {
    await deploy([job('flaky', { retries: 1 })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const l1 = await pull(a);
    await scheduler.complete('agent-a', { jobId: l1!.jobId, attempt: 1, result: failed });
    const l2 = await pull(b);
    expect(l2?.attempt).toBe(2);
    await scheduler.complete('agent-b', { jobId: l2!.jobId, attempt: 2, result: failed });
    expect(await pull(a)).toBeNull();
    expect((await store.getJob(`${run._id}/flaky`))?.state).toBe('failed');
    expect((await store.getRun(run._id))?.status).toBe('failed');
    // Each attempt stays on record, with its agent and how it ended.
    expect(await scheduler.attempts(`${run._id}/flaky`)).toMatchObject([
      { attempt: 1, agentId: 'agent-a', status: 'failed', cause: 'exit', exitCode: 1, error: 'boom', retried: true },
      { attempt: 2, agentId: 'agent-b', status: 'failed', cause: 'exit', exitCode: 1, retried: false },
    ]);
    const [first, second] = await scheduler.attempts(`${run._id}/flaky`);
    expect(first?.leasedAt).toBeLessThanOrEqual(first?.endedAt ?? -1);
    expect(first?.endedAt).toBeLessThanOrEqual(second?.leasedAt ?? -1);
    await expect(scheduler.attempts(`${run._id}/nope`)).rejects.toMatchObject({ code: 'HF_NOT_FOUND' });
  });

  it('a retried pull request id gets the same lease back, never a second job', async () => {
    await deploy([job('x'), job('y')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const first = await pull(a, 'request-1');
    const again = await pull(a, 'request-1');
    expect(again?.jobId).toBe(first?.jobId);
    expect(again?.attempt).toBe(first?.attempt);
    const leased = (await store.listJobs('p/1')).filter((j) => j.state === 'leased');
    expect(leased).toHaveLength(1);
  });

  it('a first sending does not look up an earlier lease of its request id; a resend does, and gets it', async () => {
    await deploy([job('x'), job('y')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lookups: string[] = [];
    const findJobsOfAgent = store.findJobsOfAgent.bind(store);
    store.findJobsOfAgent = async (agentId) => {
      lookups.push(agentId);
      return findJobsOfAgent(agentId);
    };
    const first = await scheduler.pull(a, 'request-1', { waitMs: 0, firstSending: true });
    expect(lookups).toEqual([]);
    const again = await scheduler.pull(a, 'request-1', { waitMs: 0 });
    expect(lookups).toEqual([a._id]);
    expect(again?.jobId).toBe(first?.jobId);
    expect((await store.listJobs('p/1')).filter((j) => j.state === 'leased')).toHaveLength(1);
    // Another request id of the same agent is another pull: the next job.
    const other = await scheduler.pull(a, 'request-2', { waitMs: 0 });
    expect(other?.jobId).not.toBe(first?.jobId);
    expect((await store.listJobs('p/1')).filter((j) => j.state === 'leased')).toHaveLength(2);
  });

  it('a job queued while a waiting pull looks is leased by that pull at once, not at its next look', async () => {
    await deploy([job('x')]);
    const find = store.findQueuedJobs.bind(store);
    let looks = 0;
    store.findQueuedJobs = async (limit, query) => {
      const found = await find(limit, query);
      // The run is triggered (and the queue notified) after this look read the queue.
      if (looks++ === 0) await scheduler.triggerRun({ pipeline: 'p', trigger });
      return found;
    };
    // Without the wake-up its next look would come 1 s later (the clock here stands still, so
    // only that timer ends its wait); 200 ms is far more than an immediate look takes.
    const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 200));
    const lease = await Promise.race([scheduler.pull(a, 'r-1', { waitMs: 5_000 }), late]);
    expect(lease === 'late' ? lease : lease?.name).toBe('x');
  });

  it('a job whose run is not stored yet (a trigger between its two writes) is left queued, then leased', async () => {
    await deploy([job('early')]);
    const pending = makeJob('p/77', 'early');
    await store.insertJobs([pending]);
    expect(await pull(a)).toBeNull();
    expect((await store.getJob(pending._id))?.state).toBe('queued');
    await store.insertRun({
      _id: 'p/77',
      pipeline: 'p',
      number: 77,
      versionId: (await store.getPipeline('p'))?.versionId as string,
      trigger,
      status: 'running',
      createdAt: 0,
      finishedAt: null,
    });
    expect((await pull(a))?.jobId).toBe(pending._id);
  });

  it('two agents racing for one job: exactly one lease', async () => {
    await deploy([job('only')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const [x, y] = await Promise.all([pull(a), pull(b)]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
  });

  it('pulls of one coordinator do not race each other for a job; pulls of two still lease it once', async () => {
    await deploy(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((name) => job(name)));
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lost: string[] = [];
    const decide = store.decide.bind(store);
    store.decide = async (id, data) => {
      const outcome = await decide(id, data);
      if (!outcome.won && id.endsWith('/lease')) lost.push(id);
      return outcome as never;
    };
    const agents = Array.from({ length: 8 }, (_, i) => agentRecord(`agent-${i}`));
    for (const agent of agents) await store.putAgent(agent);
    const leases = await Promise.all(agents.map((agent) => pull(agent)));
    expect(new Set(leases.map((lease) => lease?.jobId)).size).toBe(8);
    expect(lost).toEqual([]);
    // Another coordinator has its own claims: its pulls and these race through the decisions.
    const other = createScheduler({ store, clock, options: { leaseTtl: 5_000 } });
    const rest = await Promise.all([
      scheduler.pull(a, 'r-a', { waitMs: 0 }),
      other.pull(b, 'r-b', { waitMs: 0 }),
      scheduler.pull(agents[0] as AgentRecord, 'r-0', { waitMs: 0 }),
      other.pull(agents[1] as AgentRecord, 'r-1', { waitMs: 0 }),
    ]);
    const won = rest.filter((lease) => lease !== null);
    expect(won).toHaveLength(2);
    expect(new Set(won.map((lease) => lease.jobId)).size).toBe(2);
    expect((await store.listJobs('p/1')).filter((j) => j.state === 'leased')).toHaveLength(10);
  });

  it('a job whose lease another coordinator decided is passed over by the pulls that follow', async () => {
    await deploy([job('x'), job('y'), job('z')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    // Another coordinator has decided x's lease and not yet recorded it on the job.
    await store.decide(DecisionIds.lease('p/1/x', 1), { agentId: 'agent-elsewhere', requestId: 'req-elsewhere' });
    const tries: string[] = [];
    const decide = store.decide.bind(store);
    store.decide = (id, data) => {
      tries.push(id);
      return decide(id, data);
    };
    expect((await pull(a))?.name).toBe('y');
    expect((await pull(b))?.name).toBe('z');
    expect(tries.filter((id) => id === DecisionIds.lease('p/1/x', 1))).toHaveLength(1);
  });

  it('a completion of an attempt whose end was decided but not applied gets that end, applied', async () => {
    await deploy([job('x', { retries: 0 })]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await pull(a);
    // A coordinator declared the attempt lost and died before recording it on the job.
    await decideEnd(lease!.jobId, 'lost', true);
    expect((await store.getJob(lease!.jobId))?.state).toBe('leased');
    await expect(scheduler.complete('agent-a', { jobId: lease!.jobId, attempt: 1, result: ok })).rejects.toBeInstanceOf(
      FencedError,
    );
    expect(await store.getJob(lease!.jobId)).toMatchObject({ state: 'queued', attempt: 2 });
  });

  it('a heartbeat of an attempt whose end was decided but not applied is told so, and the end applied', async () => {
    await deploy([job('cancelled', { retries: 0 }), job('lost', { retries: 0 })]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const first = await pull(a);
    const second = await pull(a);
    await scheduler.start('agent-a', first!.jobId, 1);
    // Ends decided by coordinators that died before recording them on the jobs.
    await decideEnd(first!.jobId, 'cancelled', false);
    await decideEnd(second!.jobId, 'lost', false);
    expect((await store.getJob(first!.jobId))?.state).toBe('running');
    expect(
      await scheduler.heartbeat('agent-a', [
        { jobId: first!.jobId, attempt: 1 },
        { jobId: second!.jobId, attempt: 1 },
      ]),
    ).toEqual({ [`${first!.jobId}#1`]: 'cancel', [`${second!.jobId}#1`]: 'lost' });
    // Applied after the answer, which does not wait for it.
    await vi.waitFor(async () => {
      expect((await store.getJob(first!.jobId))?.state).toBe('cancelled');
      expect((await store.getJob(second!.jobId))?.state).toBe('failed');
    });
  });
  it('one coordinator leases the oldest job first, pull after pull', async () => {
    await deploy(['a', 'b', 'c', 'd', 'e', 'f'].map((name) => job(name)));
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const agent = agentRecord(`agent-${i}`);
      await store.putAgent(agent);
      names.push((await pull(agent))?.name ?? 'none');
    }
    expect(names).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('matches job labels against agent labels', async () => {
    await deploy([job('gpu', { labels: ['gpu'] })]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(await pull(a)).toBeNull();
    const gpu = agentRecord('agent-gpu', ['gpu', 'linux']);
    await store.putAgent(gpu);
    expect((await pull(gpu))?.name).toBe('gpu');
  });

  it('suspended and draining agents get no jobs', async () => {
    await deploy([job('x')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(await pull({ ...a, state: 'suspended' })).toBeNull();
    expect(await pull({ ...a, state: 'draining' })).toBeNull();
    expect(await pull(a)).not.toBeNull();
  });

  it('an expired lease is declared lost once and retried as attempt 2; the late completion is fenced', async () => {
    await deploy([job('long')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await pull(a);
    await scheduler.start('agent-a', lease!.jobId, 1);
    await clock.advance(4_000);
    expect(await scheduler.heartbeat('agent-a', [{ jobId: lease!.jobId, attempt: 1 }])).toEqual({
      [`${lease!.jobId}#1`]: 'ok',
    });
    await clock.advance(4_000);
    expect((await scheduler.sweep()).lost).toBe(0);
    await clock.advance(2_000);
    expect((await scheduler.sweep()).lost).toBe(1);
    expect((await scheduler.sweep()).lost).toBe(0);
    const retry = await pull(b);
    expect(retry?.attempt).toBe(2);
    await expect(scheduler.complete('agent-a', { jobId: lease!.jobId, attempt: 1, result: ok })).rejects.toBeInstanceOf(
      FencedError,
    );
    await expect(scheduler.requireCurrentAttempt('agent-a', lease!.jobId, 1)).rejects.toBeInstanceOf(FencedError);
    expect(await scheduler.heartbeat('agent-a', [{ jobId: lease!.jobId, attempt: 1 }])).toEqual({
      [`${lease!.jobId}#1`]: 'lost',
    });
    await scheduler.complete('agent-b', { jobId: retry!.jobId, attempt: 2, result: ok });
    const final = await store.getJob(lease!.jobId);
    expect(final?.state).toBe('succeeded');
    expect(final?.lostAttempts).toBe(1);
  });

  it('a replayed completion is accepted once as a duplicate; a conflicting one is fenced', async () => {
    await deploy([job('x')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await pull(a);
    expect(await scheduler.complete('agent-a', { jobId: lease!.jobId, attempt: 1, result: ok })).toEqual({
      duplicate: false,
      next: null,
    });
    expect(await scheduler.complete('agent-a', { jobId: lease!.jobId, attempt: 1, result: ok })).toEqual({
      duplicate: true,
      next: null,
    });
    await expect(
      scheduler.complete('agent-a', { jobId: lease!.jobId, attempt: 1, result: failed }),
    ).rejects.toBeInstanceOf(FencedError);
    await expect(scheduler.complete('agent-b', { jobId: lease!.jobId, attempt: 1, result: ok })).rejects.toBeInstanceOf(
      FencedError,
    );
  });

  it('a completion on the coordinator that leased the job does not read it; an end decided elsewhere still wins', async () => {
    await deploy([job('x', { retries: 0 }), job('y', { retries: 0 })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const jobReads: string[] = [];
    const getJob = store.getJob.bind(store);
    store.getJob = (id, options) => {
      jobReads.push(id);
      return getJob(id, options);
    };
    const x = await pull(a);
    const y = await pull(b);
    await scheduler.start('agent-a', x!.jobId, 1);
    jobReads.length = 0;
    await scheduler.complete('agent-a', { jobId: x!.jobId, attempt: 1, result: ok });
    expect(jobReads).not.toContain(x!.jobId);
    expect(await store.getJob(x!.jobId)).toMatchObject({ state: 'succeeded', exitCode: 0 });
    expect((await store.getJob(x!.jobId))?.startedAt).toBe(clock.now());
    // Another coordinator cancels the run while y runs: y's completion here is fenced, and the
    // job stays cancelled.
    await scheduler.start('agent-b', y!.jobId, 1);
    const other = createScheduler({ store, clock, options: { leaseTtl: 5_000 } });
    await other.cancelRun(run._id, 'someone');
    await expect(scheduler.complete('agent-b', { jobId: y!.jobId, attempt: 1, result: ok })).rejects.toBeInstanceOf(
      FencedError,
    );
    expect((await store.getJob(y!.jobId))?.state).toBe('cancelled');
    expect((await store.getRun(run._id))?.status).toBe('cancelled');
  });

  it('a completion whose next pull leases a job of its run does not read the run to see that it goes on', async () => {
    await deploy([job('v'), job('w'), job('x'), job('y'), job('z')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    // The coordinator knows z as the run's last unfinished job (its witness) once v has ended.
    const v = await pull(a);
    await scheduler.complete('agent-a', { jobId: v!.jobId, attempt: 1, result: ok });
    const jobReads: string[] = [];
    const listed: string[] = [];
    const getJob = store.getJob.bind(store);
    const listJobs = store.listJobs.bind(store);
    store.getJob = (id, options) => {
      jobReads.push(id);
      return getJob(id, options);
    };
    store.listJobs = (runId) => {
      listed.push(runId);
      return listJobs(runId);
    };
    const w = await pull(a);
    const x = await pull(b);
    expect([w?.name, x?.name]).toEqual(['w', 'x']);
    // Without a lease since, a completion reads the run's witness (its last unfinished job).
    await scheduler.complete('agent-a', { jobId: w!.jobId, attempt: 1, result: ok });
    expect(jobReads).toContain(`${run._id}/z`);
    // The next pull leases y before the run is looked at: that lease shows the run goes on.
    jobReads.length = 0;
    listed.length = 0;
    const done = await scheduler.complete('agent-b', { jobId: x!.jobId, attempt: 1, result: ok }, nextOf(b));
    expect(done.next?.name).toBe('y');
    expect(jobReads).not.toContain(`${run._id}/z`);
    expect(listed).toEqual([]);
    expect((await store.getRun(run._id))?.status).toBe('running');
    // The run still ends with its last job, pulled the same way.
    const z = await scheduler.complete('agent-b', { jobId: done.next!.jobId, attempt: 1, result: ok }, nextOf(b));
    expect(z.next?.name).toBe('z');
    expect(await scheduler.complete('agent-b', { jobId: z.next!.jobId, attempt: 1, result: ok }, nextOf(b))).toEqual({
      duplicate: false,
      next: null,
    });
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('the coordinator that creates a run of queued jobs knows them: its completions do not read the run whole', async () => {
    await deploy([job('x'), job('y'), job('z')]);
    const listed: string[] = [];
    const listJobs = store.listJobs.bind(store);
    store.listJobs = (runId) => {
      listed.push(runId);
      return listJobs(runId);
    };
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const x = await pull(a);
    await scheduler.complete('agent-a', { jobId: x!.jobId, attempt: 1, result: ok });
    expect(listed).toEqual([]);
    // Another coordinator, which did not create the run, reads it whole at its first completion.
    const other = createScheduler({ store, clock, options: { leaseTtl: 5_000 } });
    const y = await other.pull(b, 'req-y', { waitMs: 0 });
    await other.complete('agent-b', { jobId: y!.jobId, attempt: 1, result: ok });
    expect(listed).toEqual([run._id]);
    // The last job's end reads it whole, and ends it.
    const z = await pull(a);
    await scheduler.complete('agent-a', { jobId: z!.jobId, attempt: 1, result: ok });
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('the periodic repair passes over a run this coordinator read whole within the last repair period', async () => {
    await deploy([job('a'), job('b', { needs: ['a'] })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const first = await pull(a);
    // A coordinator that died had ended a's attempt, and not resolved what it unblocks.
    await store.decide(DecisionIds.attemptEnd(first!.jobId, 1), {
      kind: 'completed',
      agentId: 'agent-a',
      result: ok,
      retry: false,
    });
    await store.updateJob(first!.jobId, { state: 'succeeded', finishedAt: clock.now() }, { states: ['leased'] });
    // The trigger read the run whole just now: the first repair pass leaves it.
    await scheduler.sweep();
    expect(await states(run._id)).toEqual({ a: 'succeeded', b: 'waiting' });
    // The next pass, a repair period later (ten sweeps of 1 s), resolves it.
    await clock.advance(10_000);
    for (let i = 0; i < 10; i++) await scheduler.sweep();
    expect(await states(run._id)).toEqual({ a: 'succeeded', b: 'queued' });
  });

  it('a completion pulls its next job after the resolution when a job needs it, or when the pull may wait', async () => {
    await deploy([job('a'), job('b', { needs: ['a'] })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const first = await pull(a);
    // b needs a: the pull runs after the resolution queued b, and leases it.
    const done = await scheduler.complete('agent-a', { jobId: first!.jobId, attempt: 1, result: ok }, nextOf(a));
    expect(done.next?.name).toBe('b');
    // b ends the run: a pull that may wait runs after the resolution, which ended the run.
    const calls = spyCalls('updateRun', 'findQueuedJobs');
    const last = await scheduler.complete(
      'agent-a',
      { jobId: done.next!.jobId, attempt: 1, result: ok },
      // Its request went away: it looks once, and does not wait.
      { ...nextOf(a), waitMs: 1_000, signal: AbortSignal.abort() },
    );
    expect(last.next).toBeNull();
    expect(calls[0]).toBe('updateRun');
    expect(calls).toContain('findQueuedJobs');
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('a completion whose job only ends its run pulls its next job first when the pull does not wait', async () => {
    await deploy([job('x'), job('y')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const x = await pull(a);
    const calls = spyCalls('updateRun', 'findQueuedJobs');
    const done = await scheduler.complete('agent-a', { jobId: x!.jobId, attempt: 1, result: ok }, nextOf(a));
    expect(done.next?.name).toBe('y');
    const last = await scheduler.complete('agent-a', { jobId: done.next!.jobId, attempt: 1, result: ok }, nextOf(a));
    expect(last.next).toBeNull();
    // The last completion's pull looked before the resolution ended the run.
    expect(calls.slice(-2)).toEqual(['findQueuedJobs', 'updateRun']);
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('a rejected completion pulls nothing', async () => {
    await deploy([job('x'), job('y')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const x = await pull(a);
    const calls = spyCalls('findQueuedJobs');
    await expect(
      scheduler.complete('agent-b', { jobId: x!.jobId, attempt: 1, result: ok }, nextOf(b)),
    ).rejects.toBeInstanceOf(FencedError);
    expect(calls).toEqual([]);
    const done = await scheduler.complete('agent-a', { jobId: x!.jobId, attempt: 1, result: ok }, nextOf(a));
    expect(done).toMatchObject({ duplicate: false, next: { name: 'y' } });
    // A replay is accepted as a duplicate, and pulls (nothing is left to lease).
    const looked = calls.length;
    expect(await scheduler.complete('agent-a', { jobId: x!.jobId, attempt: 1, result: ok }, nextOf(a))).toEqual({
      duplicate: true,
      next: null,
    });
    expect(calls.length).toBeGreaterThan(looked);
  });

  it('cancelling a run cancels waiting, queued and running jobs and tells the agent', async () => {
    await deploy([job('running'), job('queued'), job('waiting', { needs: ['running'] })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await pull(a);
    await scheduler.start('agent-a', lease!.jobId, 1);
    await scheduler.cancelRun(run._id, 'someone');
    await scheduler.cancelRun(run._id, 'someone');
    expect(Object.values(await states(run._id))).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect((await store.getRun(run._id))?.status).toBe('cancelled');
    expect(await scheduler.heartbeat('agent-a', [{ jobId: lease!.jobId, attempt: 1 }])).toEqual({
      [`${lease!.jobId}#1`]: 'cancel',
    });
    expect(await pull(b)).toBeNull();
  });

  it('a lease decision whose coordinator died before recording it is recovered after the TTL', async () => {
    await deploy([job('x')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    // Another coordinator won the lease and died before updating the job.
    await store.decide(DecisionIds.lease('p/1/x', 1), { agentId: 'agent-dead', requestId: 'r' });
    expect(await pull(a)).toBeNull();
    await clock.advance(6_000);
    // The next pull declares attempt 1 lost, which queues attempt 2, and leases that.
    const retry = await pull(a);
    expect(retry?.attempt).toBe(2);
    expect((await store.getJob('p/1/x'))?.lostAttempts).toBe(1);
  });

  it('a resent pull whose coordinator died after deciding its lease, before recording it, gets that lease', async () => {
    await deploy([job('x'), job('y')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    // The first sending's coordinator decided x for agent-a's request and died before updating x.
    await store.decide(DecisionIds.lease('p/1/x', 1), { agentId: a._id, requestId: 'request-1' });
    // The resend, on this coordinator, finds the decision its own and applies it.
    const lease = await pull(a, 'request-1');
    expect([lease?.jobId, lease?.attempt]).toEqual(['p/1/x', 1]);
    expect(await store.getJob('p/1/x')).toMatchObject({ state: 'leased', agentId: a._id, leaseRequestId: 'request-1' });
    // Another agent's pull gets the other job.
    expect((await pull(b))?.jobId).toBe('p/1/y');
  });

  it('jobs whose condition does not hold are skipped with their dependents', async () => {
    await deploy([
      job('deploy', { if: { branches: ['release/*'], events: [] } }),
      job('notify', { needs: ['deploy'] }),
      job('build'),
    ]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(await states(run._id)).toEqual({ deploy: 'skipped', notify: 'skipped', build: 'queued' });
    expect((await store.getJob(`${run._id}/deploy`))?.cause).toBe('condition');
  });

  it('a run none of whose jobs runs ends when it is triggered', async () => {
    // Skipped when created, none waiting: nothing ends later to end the run.
    await deploy([
      job('deploy', { if: { branches: ['release/*'], events: [] } }),
      job('publish', { if: { branches: ['release/*'], events: [] } }),
    ]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(await states(run._id)).toEqual({ deploy: 'skipped', publish: 'skipped' });
    expect(run.status).toBe('succeeded');
    expect(run.finishedAt).not.toBeNull();
  });

  it('runs only the selected jobs and what they need', async () => {
    await deploy([job('a'), job('b', { needs: ['a'] }), job('c')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger, only: ['b'] });
    expect(Object.keys(await states(run._id)).sort()).toEqual(['a', 'b']);
    await expect(scheduler.triggerRun({ pipeline: 'p', trigger, only: ['nope'] })).rejects.toThrow(/no job 'nope'/);
  });

  it('gives dependents the outputs of their needs and the merged env', async () => {
    await deploy([job('a'), job('b', { needs: ['a'], env: { LOCAL: '2' } })]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const la = await pull(a);
    await scheduler.complete('agent-a', {
      jobId: la!.jobId,
      attempt: 1,
      result: { ...ok, outputs: { version: '1.2.3' } },
    });
    const lb = await pull(a);
    expect(lb?.needsOutputs).toEqual({ a: { version: '1.2.3' } });
    expect(lb?.env).toEqual({ GLOBAL: '1', LOCAL: '2' });
  });

  it('triggers read a version once per coordinator, and refuse a version of another pipeline', async () => {
    await deploy([job('x')]);
    const versionReads: string[] = [];
    const getPipelineVersion = store.getPipelineVersion.bind(store);
    store.getPipelineVersion = (id) => {
      versionReads.push(id);
      return getPipelineVersion(id);
    };
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(versionReads).toEqual(['v1']);
    await store.setPipelineHead('q', 'v1', 0);
    await expect(scheduler.triggerRun({ pipeline: 'q', trigger })).rejects.toThrow("pipeline 'q' has no version 'v1'");
    await expect(scheduler.triggerRun({ pipeline: 'p', versionId: 'v9', trigger })).rejects.toThrow(
      "pipeline 'p' has no version 'v9'",
    );
  });

  it('numbers concurrent runs of a pipeline without gaps or repeats', async () => {
    await deploy([job('x')]);
    const runs = await Promise.all(Array.from({ length: 5 }, () => scheduler.triggerRun({ pipeline: 'p', trigger })));
    expect(runs.map((r) => r.number).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a concurrency group runs one job at a time across runs, in turn', async () => {
    await deploy([job('deploy', { concurrency: 'prod' }), job('lint')]);
    const first = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const second = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const got: [AgentRecord, NonNullable<Awaited<ReturnType<typeof pull>>>][] = [];
    for (const agent of [a, a, b, b]) {
      const lease = await pull(agent);
      if (lease) got.push([agent, lease]);
    }
    // Both lints and one deploy: the other deploy waits for the group.
    expect(got.map(([, l]) => l.name).sort()).toEqual(['deploy', 'lint', 'lint']);
    expect(await pull(b)).toBeNull();
    const [holder, deploying] = got.find(([, l]) => l.name === 'deploy') ?? [];
    if (!holder || !deploying) throw new Error('no deploy leased');
    await scheduler.complete(holder._id, { jobId: deploying.jobId, attempt: 1, result: failed });
    const next = await pull(b);
    expect(next?.name).toBe('deploy');
    expect(next?.runId).not.toBe(deploying.runId);
    expect([first._id, second._id]).toContain(next?.runId);
  });

  it('checks manual inputs against the pipeline and fills in defaults', async () => {
    const withInputs = spec([job('x')]);
    withInputs.triggers.manual = {
      inputs: {
        env: { type: 'choice', description: null, required: true, options: ['staging', 'prod'], default: null },
        dryRun: { type: 'boolean', description: null, required: false, default: true },
      },
    };
    await store.putPipelineVersion({
      _id: 'v2',
      pipeline: 'p',
      spec: withInputs,
      bundle: '',
      entry: 'hiveforge.ts',
      createdAt: 0,
    });
    await store.setPipelineHead('p', 'v2', 0);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger: { ...trigger, inputs: { env: 'prod' } } });
    expect(run.trigger.inputs).toEqual({ env: 'prod', dryRun: true });
    await expect(scheduler.triggerRun({ pipeline: 'p', trigger: { ...trigger, inputs: {} } })).rejects.toThrow(
      /input 'env' is required/,
    );
    await expect(
      scheduler.triggerRun({ pipeline: 'p', trigger: { ...trigger, inputs: { env: 'moon' } } }),
    ).rejects.toThrow(/must be one of staging, prod/);
    await expect(
      scheduler.triggerRun({ pipeline: 'p', trigger: { ...trigger, inputs: { env: 'prod', dryRun: 'yes' } } }),
    ).rejects.toThrow(/must be a boolean/);
    await expect(
      scheduler.triggerRun({ pipeline: 'p', trigger: { ...trigger, inputs: { env: 'prod', colour: 'red' } } }),
    ).rejects.toThrow(/no input 'colour'/);
    expect(await store.listRuns({ limit: 10 })).toHaveLength(1);
  });
});

describe('scheduler on FerretDB', () => {
  const ferret = ferretDBForSuite();

  it('a pull resent to another coordinator gets the lease the first coordinator gave, and no second job', () =>
    ferret.withDatabase('hf_pull', async ({ uri, dbName }) => {
      const storeA = await createMongoStore({ uri, dbName });
      const storeB = await createMongoStore({ uri, dbName });
      try {
        await deployTo(storeA, [job('x'), job('y')]);
        const agent = agentRecord('agent-a');
        await storeA.putAgent(agent);
        const a = createScheduler({ store: storeA });
        const b = createScheduler({ store: storeB });
        await a.triggerRun({ pipeline: 'p', trigger });
        // Coordinator A leases a job and its reply is lost; the agent sends the pull again to B.
        const first = await a.pull(agent, 'request-1', { waitMs: 0, firstSending: true });
        expect(first).not.toBeNull();
        const again = await b.pull(agent, 'request-1', { waitMs: 0 });
        expect([again?.jobId, again?.attempt]).toEqual([first?.jobId, first?.attempt]);
        expect((await storeB.listJobs('p/1')).map((j) => [j.name, j.state, j.leaseRequestId ?? null])).toEqual([
          ['x', first?.jobId === 'p/1/x' ? 'leased' : 'queued', first?.jobId === 'p/1/x' ? 'request-1' : null],
          ['y', first?.jobId === 'p/1/y' ? 'leased' : 'queued', first?.jobId === 'p/1/y' ? 'request-1' : null],
        ]);
        // Once the agent no longer holds it, the same request id gets nothing back from it.
        await b.complete(agent._id, { jobId: first?.jobId ?? '', attempt: 1, result: ok });
        const later = await b.pull(agent, 'request-1', { waitMs: 0 });
        expect(later?.jobId).not.toBe(first?.jobId);
      } finally {
        await storeB.close();
        await storeA.close();
      }
    }));

  it('takes queued jobs from their ready hints unread; a stale hint costs a lost race, never a second lease', () =>
    ferret.withDatabase('hf_copies', async ({ uri, dbName }) => {
      // B's client reports the commands B's store sends.
      const clientB = new MongoClient(uri, {
        monitorCommands: true,
        retryWrites: true,
        writeConcern: { w: 'majority' },
      });
      const jobReads: unknown[] = [];
      clientB.on('commandStarted', ({ commandName, command }) => {
        if (commandName === 'find' && command.find === 'jobs') jobReads.push(command.filter);
      });
      const storeA = await createMongoStore({ uri, dbName });
      const storeB = await createMongoStore({ uri, dbName, client: clientB });
      const admin = new MongoClient(uri);
      try {
        await deployTo(storeA, [job('x'), job('y')]);
        const [one, two] = [agentRecord('agent-1'), agentRecord('agent-2')];
        await storeA.putAgent(one);
        await storeA.putAgent(two);
        const a = createScheduler({ store: storeA });
        const b = createScheduler({ store: storeB });
        await a.triggerRun({ pipeline: 'p', trigger });
        // A leases x; its ready hint comes back as if A had died before retiring it.
        const ready = admin.db(dbName).collection<{ _id: string }>('ready_jobs');
        const hintOfX = await ready.findOne({ _id: 'p/1/x#1' });
        const x = await a.pull(one, 'request-1', { waitMs: 0 });
        expect(x?.name).toBe('x');
        await ready.deleteOne({ _id: 'p/1/x#1' });
        await ready.insertOne(hintOfX as never);
        // B takes x's copy, loses its lease decision to A's, and leases y instead, reading no job.
        jobReads.length = 0;
        const y = await b.pull(two, 'request-2', { waitMs: 0 });
        expect(y?.name).toBe('y');
        expect(jobReads).toEqual([]);
        expect((await storeB.listJobs('p/1')).map((j) => [j.name, j.state, j.agentId])).toEqual([
          ['x', 'leased', 'agent-1'],
          ['y', 'leased', 'agent-2'],
        ]);
      } finally {
        await admin.close();
        await storeB.close();
        await storeA.close();
        await clientB.close();
      }
    }));
});
