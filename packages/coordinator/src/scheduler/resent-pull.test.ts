import { StoreUnavailableError } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import { createManualClock } from '../clock.js';
import { createMemoryStore } from '../store/memory.js';
import type { JobRecord, Store } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';
import { createScheduler } from './scheduler.js';
import { agentRecord, deployTo, ok, trigger } from './test-kit.js';

const agent = agentRecord('agent-a');
const other = agentRecord('agent-b');

describe('a pull resent to another coordinator across a store outage', () => {
  it('gets the lease the first coordinator decided and recorded for it late, even when its own reads predate the record', async () => {
    const memory = createMemoryStore();
    await deployTo(memory, [makeJobSpec('build'), makeJobSpec('other')]);
    await memory.putAgent(agent);
    const first = createScheduler({ store: memory });
    await first.triggerRun({ pipeline: 'p', trigger });
    // What the second coordinator read before the first one's record landed: the job queued,
    // and no job of the agent.
    const [queued] = (await memory.findQueuedJobs(1, { labels: [] })) as [JobRecord];
    const lease = await first.pull(agent, 'request-1', { waitMs: 0 });
    expect(lease?.jobId).toBe(queued._id);
    // The first coordinator's answer was lost (its store went away): the agent resends.
    const early = new Proxy(memory, {
      get: (target, key, receiver) =>
        key === 'findQueuedJobs'
          ? async () => [queued]
          : key === 'findJobsOfAgent'
            ? async () => []
            : Reflect.get(target, key, receiver),
    }) as Store;
    const second = createScheduler({ store: early });
    const resent = await second.pull(agent, 'request-1', { waitMs: 0 });
    expect(resent).toMatchObject({ jobId: queued._id, attempt: 1 });
    expect((await memory.getJob(queued._id))?.attempt).toBe(1);
  });
});

describe('a lease decided as the store dies, never recorded on its job', () => {
  it('is leased again as the same attempt once a TTL old, when the resend was answered with another job: the job has one attempt', async () => {
    const clock = createManualClock(1_000);
    const memory = createMemoryStore({ clock });
    await deployTo(memory, [makeJobSpec('build'), makeJobSpec('other')]);
    await memory.putAgent(agent);
    await memory.putAgent(other);
    const options = { leaseTtl: 5_000 };
    // Coordinator A's store dies right after A inserted the lease decision of the first job:
    // the decision is stored, its record on the job is not, and the pull fails.
    let dead = false;
    const dying = new Proxy(memory, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (key === 'decide')
          return async (...args: Parameters<Store['decide']>) => {
            const decided = await target.decide(...args);
            if (String(args[0]).endsWith('/lease')) dead = true;
            return decided;
          };
        if (typeof value !== 'function' || key === 'subscribe' || key === 'notify') return value;
        return async (...args: unknown[]) => {
          if (dead) throw new StoreUnavailableError('the store went away');
          return Reflect.apply(value, target, args);
        };
      },
    }) as Store;
    const a = createScheduler({ store: dying, clock, options });
    await a.triggerRun({ pipeline: 'p', trigger });
    const [first, second] = (await memory.findQueuedJobs(2, { labels: [] })) as [JobRecord, JobRecord];
    await expect(a.pull(agent, 'request-1', { waitMs: 0, firstSending: true })).rejects.toThrow(StoreUnavailableError);
    expect(await memory.getDecision(DecisionIds.lease(first._id, 1))).toMatchObject({
      data: { agentId: agent._id, requestId: 'request-1' },
    });
    expect((await memory.getJob(first._id))?.state).toBe('queued');
    // The agent resends its pull to coordinator B, whose pulls spread over the oldest jobs (it
    // lost lease races lately): it reads the other job first, and answers with it.
    const spread = new Proxy(memory, {
      get: (target, key, receiver) =>
        key === 'findQueuedJobs'
          ? async (limit: number, query: Parameters<Store['findQueuedJobs']>[1]) =>
              (await target.findQueuedJobs(limit + 1, query)).reverse().slice(0, limit)
          : Reflect.get(target, key, receiver),
    }) as Store;
    const b = createScheduler({ store: spread, clock, options });
    expect(await b.pull(agent, 'request-1', { waitMs: 0 })).toMatchObject({ jobId: second._id, attempt: 1 });
    // The first job's lease went to no agent. Until it is a TTL old it is left to its resend.
    expect(await b.pull(other, 'request-2', { waitMs: 0 })).toBeNull();
    await clock.advance(6_000);
    const again = await b.pull(other, 'request-3', { waitMs: 0 });
    expect(again).toMatchObject({ jobId: first._id, attempt: 1 });
    expect(await memory.getJob(first._id)).toMatchObject({
      state: 'leased',
      agentId: other._id,
      attempt: 1,
      lostAttempts: 0,
    });
    // A late resend of the first request gets nothing more: the attempt is the other agent's.
    expect(await b.pull(agent, 'request-1', { waitMs: 0 })).toMatchObject({ jobId: second._id });
    await expect(b.start(agent._id, first._id, 1)).rejects.toThrow(/does not hold/);
    await b.start(other._id, first._id, 1);
    await b.complete(other._id, { jobId: first._id, attempt: 1, result: ok });
    await b.complete(agent._id, { jobId: second._id, attempt: 1, result: ok });
    // One attempt each, run by the agent that was handed it.
    expect(await b.attempts(first._id)).toMatchObject([{ attempt: 1, agentId: other._id, status: 'succeeded' }]);
    expect(await b.attempts(second._id)).toMatchObject([{ attempt: 1, agentId: agent._id, status: 'succeeded' }]);
    expect((await memory.getRun('p/1'))?.status).toBe('succeeded');
  });
});
