import { StoreUnavailableError } from '@hiveforge/sdk';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeJobSpec } from '../store/contract.js';
import { createMemoryStore } from '../store/memory.js';
import type { Store } from '../store/types.js';
import { type ManualClock, createManualClock } from '../clock.js';
import { createLeaseGrace } from './lease-grace.js';
import { type Scheduler, createScheduler } from './scheduler.js';
import { agentRecord, deployTo, trigger } from './test-kit.js';

const agent = agentRecord('agent-a');

/**
 * The lease sweeper across a store outage (lease TTL 5 s, heartbeats every 1 s, so a store call
 * slower than 2 s stalls), on a fake clock: the store's reads of expired leases fail, or take
 * long, as a MongoDB store's do while its server is down.
 */
describe('the lease sweeper declares no lease lost because of a store outage', () => {
  let clock: ManualClock;
  let scheduler: Scheduler;
  let outage: 'fail' | 'stall' | null;
  let jobId: string;

  beforeEach(async () => {
    clock = createManualClock(1_000);
    outage = null;
    const memory = createMemoryStore({ clock });
    const store = new Proxy(memory, {
      get: (target, key, receiver) =>
        key === 'findExpiredLeases'
          ? async (at: number, limit: number) => {
              if (outage === 'fail') throw new StoreUnavailableError('MongoDB is unavailable (findExpiredLeases)');
              // The read waits for the store to come back: 10 s pass meanwhile.
              if (outage === 'stall') await clock.advance(10_000);
              return target.findExpiredLeases(at, limit);
            }
          : Reflect.get(target, key, receiver),
    }) as Store;
    await deployTo(store, [makeJobSpec('long')]);
    await store.putAgent(agent);
    scheduler = createScheduler({ store, clock, options: { leaseTtl: 5_000, heartbeatInterval: 1_000 } });
    await scheduler.triggerRun({ pipeline: 'p', trigger });
    const lease = await scheduler.pull(agent, 'req-1', { waitMs: 0 });
    jobId = lease?.jobId as string;
    await scheduler.start('agent-a', jobId, 1);
  });

  it('a lease that expired while the sweeps failed is kept for a lease TTL after, and its heartbeat renews it', async () => {
    outage = 'fail';
    await clock.advance(10_000);
    await expect(scheduler.sweep()).rejects.toThrow(StoreUnavailableError);
    outage = null;
    await clock.advance(500);
    expect((await scheduler.sweep()).lost).toBe(0);
    await clock.advance(4_000);
    expect((await scheduler.sweep()).lost).toBe(0);
    expect(await scheduler.heartbeat('agent-a', [{ jobId, attempt: 1 }])).toEqual({ [`${jobId}#1`]: 'ok' });
    await clock.advance(4_000);
    expect((await scheduler.sweep()).lost).toBe(0);
  });

  it('a sweep whose read waited out the outage declares nothing; a lease nobody renews is lost a lease TTL after', async () => {
    await clock.advance(4_000);
    outage = 'stall';
    expect((await scheduler.sweep()).lost).toBe(0);
    outage = null;
    await clock.advance(4_000);
    expect((await scheduler.sweep()).lost).toBe(0);
    await clock.advance(1_001);
    expect((await scheduler.sweep()).lost).toBe(1);
  });

  it('without an outage an expired lease is lost at the first sweep after it expired', async () => {
    await clock.advance(5_001);
    expect((await scheduler.sweep()).lost).toBe(1);
  });
});

describe('createLeaseGrace', () => {
  it('a sweep that waits out an outage on something else is trouble while it runs and for a grace period after', async () => {
    const clock = createManualClock(0);
    const grace = createLeaseGrace({ graceMs: 5_000, stallMs: 2_000, clock });
    expect(grace.settled(clock.now())).toBe(true);
    // The sweep waits on the clock, as one waiting for the store to come back does.
    const sweep = grace.observe(() => clock.sleep(11_000));
    await clock.set(1_000);
    expect(grace.settled(clock.now())).toBe(true);
    await clock.set(10_999);
    expect(grace.settled(clock.now())).toBe(false);
    await clock.set(11_000);
    await sweep;
    await clock.set(15_000);
    expect(grace.settled(clock.now())).toBe(false);
    await clock.set(16_000);
    expect(grace.settled(clock.now())).toBe(true);
  });

  it('a watched store call slower than a stall is trouble, one within it is not', async () => {
    const clock = createManualClock(0);
    const grace = createLeaseGrace({ graceMs: 5_000, stallMs: 2_000, clock });
    const store = grace.watch({ read: (ms: number) => clock.sleep(ms).then(() => 'read') });
    const quick = store.read(2_000);
    await clock.advance(2_000);
    expect(await quick).toBe('read');
    expect(grace.settled(clock.now())).toBe(true);
    const slow = store.read(2_001);
    await clock.advance(2_001);
    expect(await slow).toBe('read');
    expect(grace.settled(clock.now())).toBe(false);
    await clock.advance(4_999);
    expect(grace.settled(clock.now())).toBe(false);
    await clock.advance(1);
    expect(grace.settled(clock.now())).toBe(true);
  });
});

describe('createLeaseGrace and the store outage limit', () => {
  /** A sweep that fails at `at` after being asked at `askedAt` (it waits on the clock until then). */
  const failAt = async (
    grace: ReturnType<typeof createLeaseGrace>,
    clock: ManualClock,
    askedAt: number,
    at: number,
  ) => {
    await clock.set(askedAt);
    const sweep = grace.observe(async () => {
      await clock.sleep(at - askedAt);
      throw new Error('store unavailable');
    });
    const failed = sweep.catch(() => {});
    await clock.set(at);
    await failed;
  };

  it('an outage within the limit keeps leases for a grace period after the store is back', async () => {
    const clock = createManualClock(0);
    const grace = createLeaseGrace({ graceMs: 5_000, stallMs: 2_000, outageLimitMs: 120_000, clock });
    // Sweeps fail every 30 s (server selection) for 90 s.
    for (let t = 1_000; t < 91_000; t += 30_000) await failAt(grace, clock, t, t + 30_000);
    expect(grace.settled(clock.now() + 1_000)).toBe(false);
    expect(grace.settled(clock.now() + 5_000)).toBe(true);
  });

  it('after an outage longer than the limit, leases are lost as soon as the store answers', async () => {
    const clock = createManualClock(0);
    const grace = createLeaseGrace({ graceMs: 5_000, stallMs: 2_000, outageLimitMs: 60_000, clock });
    for (let t = 1_000; t < 91_000; t += 30_000) await failAt(grace, clock, t, t + 30_000);
    expect(grace.settled(clock.now() + 1)).toBe(true);
    // A new, short outage later has its grace again.
    await failAt(grace, clock, 200_000, 202_000);
    expect(grace.settled(203_000)).toBe(false);
    expect(grace.settled(207_000)).toBe(true);
  });
});
