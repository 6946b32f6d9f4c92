import { randomUUID } from 'node:crypto';
import { API_VERSION, type JobSpec, type PipelineSpec, StoreUnavailableError } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { makeJob, makeJobSpec } from '../store/contract.js';
import { createMemoryStore } from '../store/memory.js';
import type { AgentRecord, RunRecord, Store } from '../store/types.js';
import { createManualClock } from '../clock.js';
import { ORPHAN_GRACE_MS } from './run-trigger.js';
import { createScheduler } from './scheduler.js';

const spec = (jobs: JobSpec[]): PipelineSpec => ({
  apiVersion: API_VERSION,
  name: 'p',
  triggers: { push: null, pullRequest: null, schedule: [], manual: null },
  strictImages: false,
  env: {},
  images: [],
  jobs,
  source: null,
});

const agent: AgentRecord = {
  _id: 'agent-a',
  name: 'a',
  labels: [],
  state: 'active',
  tokenHash: 'hash-a',
  capacity: 1,
  registeredAt: 0,
  lastHeartbeatAt: 0,
  disk: null,
};

const trigger = { event: 'manual' as const, branch: 'main', commit: null, repository: null, inputs: {}, actor: 'test' };

/** A memory store whose `insertRun` fails, after storing the run when `lands` says so. */
function storeFailingRunInserts({ lands }: { lands: boolean }): Store {
  const store = createMemoryStore();
  return Object.assign(Object.create(store) as Store, {
    async insertRun(run: RunRecord) {
      if (lands) await store.insertRun(run);
      throw new StoreUnavailableError('the store went away while the run was written');
    },
  });
}

async function deploy(store: Store) {
  const version = spec([makeJobSpec('build'), makeJobSpec('lint'), makeJobSpec('test', { needs: ['build'] })]);
  await store.putPipelineVersion({
    _id: 'v1',
    pipeline: 'p',
    spec: version,
    bundle: '',
    entry: 'hiveforge.ts',
    createdAt: 0,
  });
  await store.setPipelineHead('p', 'v1', 0);
}

describe('creating a run', () => {
  it('a run that could not be stored leaves none of its jobs queued or leasable', async () => {
    const store = storeFailingRunInserts({ lands: false });
    await deploy(store);
    const scheduler = createScheduler({ store });
    await expect(scheduler.triggerRun({ pipeline: 'p', trigger })).rejects.toThrow(StoreUnavailableError);
    expect(await store.getRun('p/1')).toBeNull();
    expect(await store.countQueuedJobs()).toEqual([]);
    const jobs = await store.listJobs('p/1');
    expect(jobs.map((j) => [j.name, j.state]).sort()).toEqual([
      ['build', 'cancelled'],
      ['lint', 'cancelled'],
      ['test', 'cancelled'],
    ]);
    expect(await scheduler.pull(agent, randomUUID(), { waitMs: 0 })).toBeNull();
  });

  it('a run stored by an insert that then failed is the run: its jobs stay queued', async () => {
    const store = storeFailingRunInserts({ lands: true });
    await deploy(store);
    const scheduler = createScheduler({ store });
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    expect(run._id).toBe('p/1');
    expect((await store.countQueuedJobs()).map((d) => d.count)).toEqual([2]);
    expect((await scheduler.pull(agent, randomUUID(), { waitMs: 0 }))?.runId).toBe('p/1');
  });

  it("a sweep's repair retires queued jobs whose run was never stored, once they are old enough", async () => {
    const store = createMemoryStore();
    await deploy(store);
    const clock = createManualClock(1_000_000_000);
    const scheduler = createScheduler({ store, clock });
    const kept = await scheduler.triggerRun({ pipeline: 'p', trigger });
    // What a coordinator that died between a trigger's two writes leaves: jobs, no run.
    await store.insertJobs([
      makeJob('p/9', 'build', { readyAt: clock.now() }),
      makeJob('p/9', 'test', { state: 'waiting' }),
    ]);
    expect((await store.countQueuedJobs()).map((d) => d.count)).toEqual([3]);
    await scheduler.sweep();
    expect((await store.getJob('p/9/build'))?.state).toBe('queued');
    await clock.advance(ORPHAN_GRACE_MS + 1);
    for (let i = 0; i < 10; i++) await scheduler.sweep();
    expect((await store.getJob('p/9/build'))?.state).toBe('cancelled');
    expect((await store.listJobs(kept._id)).map((j) => j.state).sort()).toEqual(['queued', 'queued', 'waiting']);
    expect((await store.countQueuedJobs()).map((d) => d.count)).toEqual([2]);
  });

  it('inputs too large to store are refused before anything is written', async () => {
    const store = createMemoryStore();
    await store.putPipelineVersion({
      _id: 'v1',
      pipeline: 'p',
      spec: {
        ...spec([makeJobSpec('build')]),
        triggers: {
          push: null,
          pullRequest: null,
          schedule: [],
          manual: { inputs: { note: { type: 'string', required: false, default: null, description: null } } },
        },
      } as PipelineSpec,
      bundle: '',
      entry: 'hiveforge.ts',
      createdAt: 0,
    });
    await store.setPipelineHead('p', 'v1', 0);
    const scheduler = createScheduler({ store });
    const huge = { ...trigger, inputs: { note: 'x'.repeat(20_000_000) } };
    await expect(scheduler.triggerRun({ pipeline: 'p', trigger: huge })).rejects.toMatchObject({
      code: 'HF_BAD_INPUT',
    });
    expect(await store.lastRunNumber('p')).toBe(0);
    expect(await store.getDecision('pipeline:p/run:1')).toBeNull();
    expect(await store.listJobs('p/1')).toEqual([]);
  });
});
