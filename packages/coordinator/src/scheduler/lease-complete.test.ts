import { FencedError } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import { createScheduler } from './scheduler.js';
import { failed, ok, schedulerBed, trigger } from './test-kit.js';

const job = makeJobSpec;

describe("completions: an attempt's end recorded once, and the agent's next pull", () => {
  const { bed, a, b, deploy, pull, nextOf, spyCalls, decideEnd } = schedulerBed();

  it('a completion of an attempt whose end was decided but not applied gets that end, applied', async () => {
    const { store, scheduler } = bed;
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

  it('a replayed completion is accepted once as a duplicate; a conflicting one is fenced', async () => {
    const { scheduler } = bed;
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
    const { store, clock, scheduler } = bed;
    await deploy([job('x', { retries: 0 }), job('y', { retries: 0 })]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    const jobReads: string[] = [];
    const getJob = store.getJob.bind(store);
    store.getJob = (id) => {
      jobReads.push(id);
      return getJob(id);
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
    const { store, scheduler } = bed;
    await deploy([job('v'), job('w'), job('x'), job('y'), job('z')]);
    const run = await scheduler.triggerRun({ pipeline: 'p', trigger });
    // The coordinator knows z as the run's last unfinished job (its witness) once v has ended.
    const v = await pull(a);
    await scheduler.complete('agent-a', { jobId: v!.jobId, attempt: 1, result: ok });
    const jobReads: string[] = [];
    const listed: string[] = [];
    const getJob = store.getJob.bind(store);
    const listJobs = store.listJobs.bind(store);
    store.getJob = (id) => {
      jobReads.push(id);
      return getJob(id);
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
    const { store, clock, scheduler } = bed;
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

  it('a completion pulls its next job after the resolution when a job needs it, or when the pull may wait', async () => {
    const { store, scheduler } = bed;
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
    const { store, scheduler } = bed;
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
    const { scheduler } = bed;
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
});
