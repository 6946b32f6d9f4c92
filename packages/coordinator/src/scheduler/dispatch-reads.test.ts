import { describe, expect, it } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import type { Store } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';
import { createScheduler } from './scheduler.js';
import { agentRecord, ok, schedulerBed, trigger } from './test-kit.js';

const job = makeJobSpec;

/** `store`, counting the calls of the methods named (and the limits `findQueuedJobs` is given). */
function counting(store: Store) {
  const calls = { listJobs: 0, getPipelineVersion: 0, findQueuedJobs: [] as number[] };
  const counted = new Proxy(store, {
    get: (target, property, receiver) => {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'listJobs') calls.listJobs++;
        if (property === 'getPipelineVersion') calls.getPipelineVersion++;
        if (property === 'findQueuedJobs') calls.findQueuedJobs.push(args[0] as number);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

describe('dispatch: what coordinators do not read again', () => {
  const { bed, a, b, deploy, states } = schedulerBed();

  it('pulls of a coordinator that miss a version at once read it once', async () => {
    const { store, clock, scheduler } = bed;
    const c = agentRecord('agent-c');
    await store.putAgent(c);
    await deploy([job('one'), job('two'), job('three')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    // Another coordinator, which has not read the version yet: three pulls at once.
    const other = counting(store);
    const second = createScheduler({ store: other.store, clock });
    const leases = await Promise.all([a, b, c].map((agent) => second.pull(agent, `req-${agent._id}`, { waitMs: 0 })));
    expect(leases.map((lease) => lease?.env.GLOBAL)).toEqual(['1', '1', '1']);
    expect(other.calls.getPipelineVersion).toBe(1);
  });

  it('a completion on a coordinator that did not create the run, of a job nothing needs, reads no run while its next pull leases', async () => {
    const { store, clock, scheduler } = bed;
    await deploy([job('one'), job('two'), job('three')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const other = counting(store);
    const second = createScheduler({ store: other.store, clock });
    const first = await second.pull(a, 'req-1', { waitMs: 0 });
    const next = { agent: a, waitMs: 0 };
    const done = await second.complete(
      'agent-a',
      { jobId: first!.jobId, attempt: 1, result: ok },
      { ...next, requestId: 'req-2' },
    );
    expect(done.next?.runId).toBe(run._id);
    expect(other.calls.listJobs).toBe(0);
    // Once a completion's pull leases nothing of the run, the run is read, and ends with its last job.
    const last = await second.complete(
      'agent-a',
      { jobId: done.next!.jobId, attempt: 1, result: ok },
      { ...next, requestId: 'req-3' },
    );
    expect(last.next?.runId).toBe(run._id);
    expect(other.calls.listJobs).toBe(0);
    await second.complete(
      'agent-a',
      { jobId: last.next!.jobId, attempt: 1, result: ok },
      { ...next, requestId: 'req-4' },
    );
    expect(other.calls.listJobs).toBeGreaterThan(0);
    expect((await store.getRun(run._id))?.status).toBe('succeeded');
  });

  it('of coordinators that repair a run in one period, one reads it whole, and the repair is made', async () => {
    const { store, clock, scheduler } = bed;
    await deploy([job('a'), job('b', { needs: ['a'] })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await scheduler.pull(a, 'req-1', { waitMs: 0 });
    // A coordinator that died had ended a's attempt, and not resolved what it unblocks.
    await store.decide(DecisionIds.attemptEnd(lease!.jobId, 1), {
      kind: 'completed',
      agentId: 'agent-a',
      result: ok,
      retry: false,
    });
    await store.updateJob(lease!.jobId, { state: 'succeeded', finishedAt: clock.now() }, { states: ['leased'] });
    // Two coordinators that never read the run: their first sweeps are repair passes.
    const others = [counting(store), counting(store)];
    for (const other of others) await createScheduler({ store: other.store, clock }).sweep();
    expect(others.map((other) => other.calls.listJobs)).toEqual([1, 0]);
    expect(await states(run._id)).toEqual({ a: 'succeeded', b: 'queued' });
    // The next period, one of them repairs it again.
    await clock.advance(10_000);
    const later = counting(store);
    await createScheduler({ store: later.store, clock }).sweep();
    expect(later.calls.listJobs).toBe(1);
  });

  it("the orphan repair reads only the oldest queued job while it is younger than the orphans' grace", async () => {
    const { store, clock, scheduler } = bed;
    await deploy([job('one'), job('two')]);
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const other = counting(store);
    await createScheduler({ store: other.store, clock }).sweep();
    expect(other.calls.findQueuedJobs).toEqual([1]);
  });

  it("a pull woken after waiting reads its agent's record alongside its candidates, not after them", async () => {
    const { store, clock, scheduler } = bed;
    await deploy([job('one')]);
    let agentRead = () => {};
    const read = new Promise<void>((resolve) => {
      agentRead = resolve;
    });
    let woken = false;
    let readFirst: boolean | null = null;
    // Candidates are read only once the agent's record is (or half a second has passed).
    const gated = new Proxy(store, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (property === 'getAgent')
          return (...args: unknown[]) => {
            agentRead();
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        if (property === 'findQueuedJobs')
          return async (...args: unknown[]) => {
            if (woken && readFirst === null) {
              readFirst = await Promise.race([
                read.then(() => true),
                new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500)),
              ]);
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const waiting = createScheduler({ store: gated, clock }).pull(a, 'req-1', { waitMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    woken = true;
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect((await waiting)?.name).toBe('one');
    expect(readFirst).toBe(true);
  });
});
