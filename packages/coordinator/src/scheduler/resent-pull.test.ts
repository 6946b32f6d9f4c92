import { API_VERSION } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import { createMemoryStore } from '../store/memory.js';
import type { AgentRecord, JobRecord, Store } from '../store/types.js';
import { createScheduler } from './scheduler.js';

const agent: AgentRecord = {
  _id: 'agent-a',
  name: 'agent-a',
  labels: [],
  state: 'active',
  tokenHash: 'hash-a',
  capacity: 1,
  registeredAt: 0,
  lastHeartbeatAt: 0,
  disk: null,
};
const trigger = { event: 'manual' as const, branch: 'main', commit: null, repository: null, inputs: {}, actor: 'test' };

describe('a pull resent to another coordinator across a store outage', () => {
  it('gets the lease the first coordinator decided and recorded for it late, even when its own reads predate the record', async () => {
    const memory = createMemoryStore();
    await memory.putPipelineVersion({
      _id: 'v1',
      pipeline: 'p',
      spec: {
        apiVersion: API_VERSION,
        name: 'p',
        triggers: { push: null, pullRequest: null, schedule: [], manual: null },
        strictImages: false,
        env: {},
        images: [],
        jobs: [makeJobSpec('build'), makeJobSpec('other')],
        source: null,
      },
      bundle: '',
      entry: 'hiveforge.ts',
      createdAt: 0,
    });
    await memory.setPipelineHead('p', 'v1', 0);
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
