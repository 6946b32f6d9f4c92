import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ferretDBForSuite } from '../../../../test/helpers/ferretdb-suite.js';
import { makeJob, makeJobSpec } from '../store/contract.js';
import { createMongoStore } from '../store/mongodb/index.js';
import type { AgentRecord } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';
import { createScheduler } from './scheduler.js';
import { agentRecord, deployTo, ok, schedulerBed, trigger } from './test-kit.js';

const job = makeJobSpec;

describe('pulls: leasing a ready job to an agent, once, and again to a resent request', () => {
  const { bed, a, b, deploy, pull } = schedulerBed();

  it('a retried pull request id gets the same lease back, never a second job', async () => {
    const { store, scheduler } = bed;
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
    const { store, scheduler } = bed;
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
    const { store, scheduler } = bed;
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
    const { store } = bed;
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
    const { scheduler } = bed;
    await deploy([job('only')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const [x, y] = await Promise.all([pull(a), pull(b)]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
  });

  it('pulls of one coordinator do not race each other for a job; pulls of two still lease it once', async () => {
    const { store, clock, scheduler } = bed;
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
    const { store, scheduler } = bed;
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

  it('one coordinator leases the oldest job first, pull after pull', async () => {
    const { store, scheduler } = bed;
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
    const { store, scheduler } = bed;
    await deploy([job('gpu', { labels: ['gpu'] })]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(await pull(a)).toBeNull();
    const gpu = agentRecord('agent-gpu', ['gpu', 'linux']);
    await store.putAgent(gpu);
    expect((await pull(gpu))?.name).toBe('gpu');
  });

  it('suspended and draining agents get no jobs', async () => {
    const { scheduler } = bed;
    await deploy([job('x')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(await pull({ ...a, state: 'suspended' })).toBeNull();
    expect(await pull({ ...a, state: 'draining' })).toBeNull();
    expect(await pull(a)).not.toBeNull();
  });

  it('a lease decision whose coordinator died before recording it is leased again after the TTL, as the same attempt', async () => {
    const { store, clock, scheduler } = bed;
    await deploy([job('x')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    // Another coordinator won the lease and died before updating the job.
    await store.decide(DecisionIds.lease('p/1/x', 1), { agentId: 'agent-dead', requestId: 'r' });
    expect(await pull(a)).toBeNull();
    await clock.advance(6_000);
    // No agent could have started it: the next pull leases attempt 1 again, in lease round 2.
    const again = await pull(a);
    expect([again?.jobId, again?.attempt]).toEqual(['p/1/x', 1]);
    expect(await store.getJob('p/1/x')).toMatchObject({ state: 'leased', agentId: a._id, attempt: 1, lostAttempts: 0 });
    expect((await store.getDecision(DecisionIds.lease('p/1/x', 1, 2)))?.data).toMatchObject({ agentId: a._id });
    expect(await scheduler.attempts('p/1/x')).toMatchObject([{ attempt: 1, agentId: a._id, status: 'leased' }]);
  });

  it('a resent pull whose coordinator died after deciding its lease, before recording it, gets that lease', async () => {
    const { store, scheduler } = bed;
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

  it('an attempt whose lease was decided and hinted but never recorded is leased again as the same attempt, and found by its new lease', () =>
    ferret.withDatabase('hf_rounds', async ({ uri, dbName }) => {
      const store = await createMongoStore({ uri, dbName });
      const admin = new MongoClient(uri);
      try {
        await deployTo(store, [job('x')]);
        const [one, two] = [agentRecord('agent-1'), agentRecord('agent-2')];
        await store.putAgent(one);
        await store.putAgent(two);
        const coordinator = createScheduler({ store, options: { leaseTtl: 300 } });
        await coordinator.triggerRun({ pipeline: 'p', trigger });
        // What a coordinator that lost the store mid-pull left: agent-1's lease decision, and the
        // `active_jobs` hint it writes before the job, but not the job's record.
        await store.decide(DecisionIds.lease('p/1/x', 1), { agentId: one._id, requestId: 'request-1' });
        const hint = {
          _id: 'p/1/x#1',
          jobId: 'p/1/x',
          attempt: 1,
          agentId: one._id,
          leaseExpiresAt: 1,
          at: Date.now(),
        };
        await admin.db(dbName).collection<typeof hint>('active_jobs').insertOne(hint);
        expect(await coordinator.pull(two, 'request-2', { waitMs: 0 })).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 400));
        // (This coordinator passes the job over for a while: it saw its lease decided.)
        const other = createScheduler({ store, options: { leaseTtl: 300 } });
        const lease = await other.pull(two, 'request-3', { waitMs: 0 });
        expect([lease?.jobId, lease?.attempt]).toEqual(['p/1/x', 1]);
        expect(await store.getJob('p/1/x')).toMatchObject({ state: 'leased', agentId: two._id, lostAttempts: 0 });
        // The new lease is the agent's: a resend of its pull finds it (its hint names agent-2).
        expect((await store.findJobsOfAgent(two._id)).map((j) => [j._id, j.attempt])).toEqual([['p/1/x', 1]]);
        expect(await store.findJobsOfAgent(one._id)).toEqual([]);
        const resent = await createScheduler({ store }).pull(two, 'request-3', { waitMs: 0 });
        expect([resent?.jobId, resent?.attempt]).toEqual(['p/1/x', 1]);
      } finally {
        await admin.close();
        await store.close();
      }
    }));
});
