import { FencedError } from '@hiveforge/sdk';
import { describe, expect, it, vi } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import { DecisionIds } from './decision-ids.js';
import { createScheduler } from './scheduler.js';
import { ok, schedulerBed, trigger } from './test-kit.js';

const job = makeJobSpec;

describe('starts, heartbeats and the sweep: attempts that end without a completion', () => {
  const { bed, a, b, deploy, pull, decideEnd, states } = schedulerBed();

  it("a start whose store fails mid-way rejects once, with both of its writes' failures handled", async () => {
    const { store, clock, scheduler } = bed;
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

  it('a heartbeat of an attempt whose end was decided but not applied is told so, and the end applied', async () => {
    const { store, scheduler } = bed;
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

  it('an expired lease is declared lost once and retried as attempt 2; the late completion is fenced', async () => {
    const { store, clock, scheduler } = bed;
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

  it('the periodic repair passes over a run this coordinator read whole within the last repair period', async () => {
    const { store, clock, scheduler } = bed;
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
});
