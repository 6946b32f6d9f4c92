import { describe, expect, it } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import type { AgentRecord, Store } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';
import { type Scheduler, createScheduler } from './scheduler.js';
import { failed, ok, schedulerBed, trigger, specOf } from './test-kit.js';

const job = makeJobSpec;

describe("runs: triggers, the DAG's resolution, cancels and concurrency groups", () => {
  const { bed, a, b, deploy, pull, states } = schedulerBed();

  it('a trigger sent again with its key gets the run the first created, finishing it if that coordinator died', async () => {
    const { store, clock, scheduler } = bed;
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
    const { store, scheduler } = bed;
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
    const { store, clock, scheduler } = bed;
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
    const { store, scheduler } = bed;
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
    const { store, scheduler } = bed;
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

  it('cancelling a run cancels waiting, queued and running jobs and tells the agent', async () => {
    const { store, scheduler } = bed;
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

  it('jobs whose condition does not hold are skipped with their dependents', async () => {
    const { store, scheduler } = bed;
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
    const { scheduler } = bed;
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
    const { scheduler } = bed;
    await deploy([job('a'), job('b', { needs: ['a'] }), job('c')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger, only: ['b'] });
    expect(Object.keys(await states(run._id)).sort()).toEqual(['a', 'b']);
    await expect(scheduler.triggerRun({ pipeline: 'p', trigger, only: ['nope'] })).rejects.toThrow(/no job 'nope'/);
  });

  it('gives dependents the outputs of their needs and the merged env', async () => {
    const { scheduler } = bed;
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
    const { store, scheduler } = bed;
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
    const { scheduler } = bed;
    await deploy([job('x')]);
    const runs = await Promise.all(Array.from({ length: 5 }, () => scheduler.triggerRun({ pipeline: 'p', trigger })));
    expect(runs.map((r) => r.number).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('a concurrency group runs one job at a time across runs, in turn', async () => {
    const { scheduler } = bed;
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
    const { store, scheduler } = bed;
    const withInputs = specOf([job('x')]);
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
