import { API_VERSION, type PipelineSpec } from '@hiveforge/sdk';
import { beforeEach, describe, expect, it } from 'vitest';
import { ferretDBForSuite } from '../../../../test/helpers/ferretdb-suite.js';
import { makeJobSpec } from '../store/contract.js';
import { createMemoryStore } from '../store/memory.js';
import { createMongoStore } from '../store/mongodb/index.js';
import type { Store } from '../store/types.js';
import { DecisionIds } from './decision-ids.js';
import { PENDING_RUN_GRACE_MS, fireSchedule } from './schedule-ticker.js';
import { type Scheduler, createScheduler } from './scheduler.js';
import { scheduleIdOf } from './schedules.js';
import { type ManualClock, createManualClock } from '../clock.js';
import { createSchedulerContext } from './context.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null | undefined) => (typeof ms === 'number' ? new Date(ms).toISOString() : ms);

const specWith = (crons: string[], jobs = ['build']): PipelineSpec => ({
  apiVersion: API_VERSION,
  name: 'nightly',
  triggers: { push: null, pullRequest: null, schedule: crons.map((cron) => ({ cron })), manual: null },
  strictImages: false,
  env: {},
  images: [],
  jobs: jobs.map((name) => makeJobSpec(name)),
  source: null,
});

/** Deploys a version as `pipelines.deploy` does: store it, move the head, sync its schedules. */
async function deploy(
  store: Store,
  scheduler: Scheduler,
  versionId: string,
  crons: string[],
  at = 0,
  jobs?: string[],
): Promise<void> {
  await moveHead(store, versionId, crons, at, jobs);
  await scheduler.syncSchedules('nightly', versionId, { headAt: at });
}

/** Stores a version and moves the head to it: a deploy whose coordinator died before syncing. */
async function moveHead(store: Store, versionId: string, crons: string[], at = 0, jobs?: string[]): Promise<void> {
  await store.putPipelineVersion({
    _id: versionId,
    pipeline: 'nightly',
    spec: specWith(crons, jobs),
    bundle: '',
    entry: 'hiveforge.ts',
    createdAt: at,
  });
  await store.setPipelineHead('nightly', versionId, at);
}

/**
 * The store as a coordinator that dies while creating a run sees it: its insert of the run's
 * jobs stores the first of them, and the process is gone before anything else is written.
 */
const diesCreatingRuns = (store: Store): Store =>
  new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'insertJobs') return Reflect.get(target, property, receiver);
      return async (jobs: Parameters<Store['insertJobs']>[0], options: Parameters<Store['insertJobs']>[1]) => {
        await target.insertJobs(jobs.slice(0, 1), options);
        throw new Error('the coordinator died');
      };
    },
  });

const DAILY = '0 3 * * *';
const HOURLY = '0 * * * *';

describe('schedules on the memory store (injected clock)', () => {
  let store: Store;
  let clock: ManualClock;
  let scheduler: Scheduler;

  beforeEach(() => {
    clock = createManualClock(at('2026-03-01T12:00:00Z'));
    store = createMemoryStore({ clock });
    scheduler = createScheduler({ store, clock });
  });

  it('a coordinator that starts reads no version of a head whose schedules are synced; it syncs one that is not', async () => {
    await deploy(store, scheduler, 'v1', [DAILY], 1);
    const versionReads: string[] = [];
    const getPipelineVersion = store.getPipelineVersion.bind(store);
    store.getPipelineVersion = (id) => {
      versionReads.push(id);
      return getPipelineVersion(id);
    };
    await createScheduler({ store, clock }).tickSchedules();
    expect(versionReads).toEqual([]);
    // A deploy that moved the head to v2 and stopped before syncing its schedules.
    await moveHead(store, 'v2', [HOURLY], 2);
    await createScheduler({ store, clock }).tickSchedules();
    expect(versionReads).toEqual(['v2']);
    expect((await store.listSchedules('nightly')).map((s) => [s.cron, s.enabled])).toEqual(
      [
        [DAILY, false],
        [HOURLY, true],
      ].sort((a, b) => scheduleIdOf('nightly', String(a[0])).localeCompare(scheduleIdOf('nightly', String(b[0])))),
    );
    // Recorded: the next coordinator that starts reads nothing again.
    await createScheduler({ store, clock }).tickSchedules();
    expect(versionReads).toEqual(['v2']);
  });

  it('a deploy writes one schedule per cron, with its next fire time; later deploys keep or disable them', async () => {
    await deploy(store, scheduler, 'v1', [DAILY, HOURLY, ' 0  3 * * * ']);
    const daily = scheduleIdOf('nightly', DAILY);
    const hourly = scheduleIdOf('nightly', HOURLY);
    expect((await store.listSchedules('nightly')).map((s) => [s._id, s.cron, s.enabled, iso(s.nextFireAt)])).toEqual(
      [
        [daily, DAILY, true, '2026-03-02T03:00:00.000Z'],
        [hourly, HOURLY, true, '2026-03-01T13:00:00.000Z'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    // Later: the daily one stays (with its next fire time), the hourly one is gone.
    await clock.set(at('2026-03-01T12:30:00Z'));
    await deploy(store, scheduler, 'v2', [DAILY, '30 6 * * MON']);
    const byId = new Map((await store.listSchedules('nightly')).map((s) => [s._id, s]));
    expect(byId.get(daily)).toMatchObject({ enabled: true, versionId: 'v2', nextFireAt: at('2026-03-02T03:00:00Z') });
    expect(byId.get(hourly)).toMatchObject({ enabled: false });
    expect(iso(byId.get(scheduleIdOf('nightly', '30 6 * * MON'))?.nextFireAt)).toBe('2026-03-02T06:30:00.000Z');
    // Declared again: it starts from its next tick after clock.now(), not from where it stopped.
    await clock.set(at('2026-03-01T15:10:00Z'));
    await deploy(store, scheduler, 'v3', [HOURLY]);
    expect(await store.getSchedule(hourly)).toMatchObject({ enabled: true, nextFireAt: at('2026-03-01T16:00:00Z') });
    expect(await store.getSchedule(daily)).toMatchObject({ enabled: false });
  });

  it('a due schedule triggers one run of the head version as event schedule, then waits for its next tick', async () => {
    await deploy(store, scheduler, 'v1', [DAILY]);
    const id = scheduleIdOf('nightly', DAILY);
    await clock.set(at('2026-03-02T02:59:59Z'));
    expect(await scheduler.tickSchedules()).toEqual({ fired: 0 });
    expect(await store.listRuns({ limit: 10 })).toEqual([]);
    await clock.set(at('2026-03-02T03:00:04Z'));
    expect(await scheduler.tickSchedules()).toEqual({ fired: 1 });
    const runs = await store.listRuns({ limit: 10 });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ versionId: 'v1', trigger: { event: 'schedule', actor: 'schedule' } });
    expect(await store.getSchedule(id)).toMatchObject({
      nextFireAt: at('2026-03-03T03:00:00Z'),
      lastFiredAt: at('2026-03-02T03:00:00Z'),
      lastRunId: runs[0]?._id,
    });
    expect(await store.getDecision(DecisionIds.scheduleTick(id, at('2026-03-02T03:00:00Z')))).toMatchObject({
      data: { tick: at('2026-03-02T03:00:00Z'), versionId: 'v1' },
    });
    expect(DecisionIds.scheduleTick(id, at('2026-03-02T03:00:00Z'))).toBe(
      `schedule:${id}/tick:2026-03-02T03:00:00.000Z`,
    );
    // The same tick again (a second look, or a late coordinator): nothing more.
    expect(await scheduler.tickSchedules()).toEqual({ fired: 0 });
    expect(await store.listRuns({ limit: 10 })).toHaveLength(1);
    // The schedule fired, and the run it started, are events.
    const events = await store.listEvents({ limit: 100 });
    expect(events.filter((e) => e.type === 'schedule')).toEqual([
      expect.objectContaining({ scheduleId: id, cron: DAILY, tick: at('2026-03-02T03:00:00Z'), runId: runs[0]?._id }),
    ]);
    expect(events.some((e) => e.type === 'run' && e.runId === runs[0]?._id && e.status === 'running')).toBe(true);
  });

  it('two coordinators racing the same tick trigger exactly one run', async () => {
    const other = createScheduler({ store, clock });
    await deploy(store, scheduler, 'v1', [HOURLY, DAILY]);
    await clock.set(at('2026-03-02T03:00:01Z'));
    const [a, b] = await Promise.all([scheduler.tickSchedules(), other.tickSchedules()]);
    // Two ticks are due (03:00 of both schedules): each fires once, by one coordinator or the other.
    expect(a.fired + b.fired).toBe(2);
    const runs = await store.listRuns({ limit: 10 });
    expect(runs.map((r) => r.trigger.event)).toEqual(['schedule', 'schedule']);
    await clock.set(at('2026-03-02T03:00:09Z'));
    const again = await Promise.all([scheduler.tickSchedules(), other.tickSchedules()]);
    expect(again[0].fired + again[1].fired).toBe(0);
    expect(await store.listRuns({ limit: 10 })).toHaveLength(2);
  });

  it('a tick whose coordinator died creating its run gets that run from a ticker, once', async () => {
    await deploy(store, scheduler, 'v1', [DAILY], 0, ['build', 'test']);
    const id = scheduleIdOf('nightly', DAILY);
    const tick = at('2026-03-02T03:00:00Z');
    await clock.set(tick + 1_000);
    const dying = createScheduler({ store: diesCreatingRuns(store), clock });
    await expect(dying.tickSchedules()).rejects.toThrow('the coordinator died');
    // The tick fired (the schedule moved on), the run's number is taken, one of its jobs is
    // stored, and the run is not.
    expect(await store.getSchedule(id)).toMatchObject({
      nextFireAt: at('2026-03-03T03:00:00Z'),
      lastFiredAt: tick,
      lastRunId: null,
      pendingRun: { tick, versionId: 'v1' },
    });
    expect(await store.getDecision(DecisionIds.runNumber('nightly', 1))).not.toBeNull();
    expect((await store.listJobs('nightly/1')).map((j) => j.name)).toEqual(['build']);
    expect(await store.listRuns({ limit: 10 })).toEqual([]);

    // Within the grace the run may still be on its way: tickers leave it alone.
    const other = createScheduler({ store, clock });
    await clock.set(tick + 31_000);
    await Promise.all([scheduler.tickSchedules(), other.tickSchedules()]);
    expect(await store.listRuns({ limit: 10 })).toEqual([]);

    // After it, both tickers find the tick pending at once; the run is created once, as run 1,
    // with the job already stored kept and the other added.
    await clock.set(tick + PENDING_RUN_GRACE_MS + 2_000);
    expect(await Promise.all([scheduler.tickSchedules(), other.tickSchedules()])).toEqual([{ fired: 0 }, { fired: 0 }]);
    const runs = await store.listRuns({ limit: 10 });
    expect(runs).toEqual([
      expect.objectContaining({
        _id: 'nightly/1',
        number: 1,
        versionId: 'v1',
        trigger: expect.objectContaining({ event: 'schedule' }),
      }),
    ]);
    expect((await store.listJobs('nightly/1')).map((j) => [j.name, j.state])).toEqual([
      ['build', 'queued'],
      ['test', 'queued'],
    ]);
    expect(await store.getSchedule(id)).toMatchObject({ lastRunId: 'nightly/1', pendingRun: null });
    const events = await store.listEvents({ limit: 100 });
    expect(events.filter((e) => e.type === 'schedule')).toEqual([
      expect.objectContaining({ tick, runId: 'nightly/1' }),
    ]);
    expect(events.filter((e) => e.type === 'run')).toHaveLength(1);

    // Nothing more later, and the next tick fires as usual, as run 2.
    await clock.set(at('2026-03-03T03:00:01Z'));
    await Promise.all([scheduler.tickSchedules(), other.tickSchedules()]);
    expect((await store.listRuns({ limit: 10 })).map((r) => r._id).sort()).toEqual(['nightly/1', 'nightly/2']);
    expect(await store.getSchedule(id)).toMatchObject({ lastRunId: 'nightly/2', pendingRun: null });
  });

  it("a tick due before a dead coordinator's tick got its run creates that run first", async () => {
    const EVERY_MINUTE = '* * * * *';
    await deploy(store, scheduler, 'v1', [EVERY_MINUTE], 0, ['build', 'test']);
    const id = scheduleIdOf('nightly', EVERY_MINUTE);
    await clock.set(at('2026-03-01T12:01:01Z'));
    const dying = createScheduler({ store: diesCreatingRuns(store), clock });
    await expect(dying.tickSchedules()).rejects.toThrow('the coordinator died');
    expect(await store.getSchedule(id)).toMatchObject({ pendingRun: { tick: at('2026-03-01T12:01:00Z') } });
    // The next tick fires before any ticker took the first one for dead: it creates the first
    // tick's run, then its own.
    await clock.set(at('2026-03-01T12:02:01Z'));
    expect(await createScheduler({ store, clock }).tickSchedules()).toEqual({ fired: 1 });
    const runs = await store.listRuns({ limit: 10 });
    expect(runs.map((r) => r._id).sort()).toEqual(['nightly/1', 'nightly/2']);
    expect((await store.listJobs('nightly/1')).map((j) => j.name)).toEqual(['build', 'test']);
    expect(await store.getSchedule(id)).toMatchObject({
      lastFiredAt: at('2026-03-01T12:02:00Z'),
      lastRunId: 'nightly/2',
      pendingRun: null,
    });
    const ticks = (await store.listEvents({ limit: 100 })).filter((e) => e.type === 'schedule');
    expect(ticks.map((e) => (e.type === 'schedule' ? [iso(e.tick), e.runId] : null))).toEqual([
      ['2026-03-01T12:01:00.000Z', 'nightly/1'],
      ['2026-03-01T12:02:00.000Z', 'nightly/2'],
    ]);
  });

  it('ticks missed while no coordinator ran fire once, for the latest of them', async () => {
    await deploy(store, scheduler, 'v1', [HOURLY]);
    const id = scheduleIdOf('nightly', HOURLY);
    // Down from 12:00 to 17:20: the ticks of 13:00 to 17:00 were missed.
    await clock.set(at('2026-03-01T17:20:00Z'));
    expect(await scheduler.tickSchedules()).toEqual({ fired: 1 });
    expect(await store.listRuns({ limit: 10 })).toHaveLength(1);
    expect(await store.getSchedule(id)).toMatchObject({
      lastFiredAt: at('2026-03-01T17:00:00Z'),
      nextFireAt: at('2026-03-01T18:00:00Z'),
    });
    // The decision is named by the first tick missed, so a coordinator that read the schedule
    // before it moved on decides the same name and loses.
    expect(await store.getDecision(DecisionIds.scheduleTick(id, at('2026-03-01T13:00:00Z')))).toMatchObject({
      data: { tick: at('2026-03-01T17:00:00Z'), next: at('2026-03-01T18:00:00Z') },
    });
    // Down for weeks: still one run.
    await clock.set(at('2026-03-20T08:30:00Z'));
    expect(await scheduler.tickSchedules()).toEqual({ fired: 1 });
    expect(await store.getSchedule(id)).toMatchObject({
      lastFiredAt: at('2026-03-20T08:00:00Z'),
      nextFireAt: at('2026-03-20T09:00:00Z'),
    });
    expect(await store.listRuns({ limit: 10 })).toHaveLength(2);
  });

  it('a deploy whose sync finishes after a later deploy moved the head syncs the later head again', async () => {
    await moveHead(store, 'v1', [DAILY], 1);
    // Another coordinator deploys v2 (head, sync and record) before this deploy's sync runs.
    await deploy(store, createScheduler({ store, clock }), 'v2', [HOURLY], 2);
    await scheduler.syncSchedules('nightly', 'v1', { headAt: 1 });
    expect((await store.listSchedules('nightly')).filter((s) => s.enabled).map((s) => [s.cron, s.versionId])).toEqual([
      [HOURLY, 'v2'],
    ]);
    expect(await store.getDecision(DecisionIds.schedulesSynced('nightly', 'v1', 1))).toBeNull();
  });

  it('a coordinator that saw a head change nobody synced syncs it on its next tick', async () => {
    // The head moved, but the deploying coordinator died before syncing schedules.
    await moveHead(store, 'v9', [HOURLY]);
    expect(await store.listSchedules()).toEqual([]);
    await scheduler.tickSchedules();
    expect(await store.getSchedule(scheduleIdOf('nightly', HOURLY))).toMatchObject({
      enabled: true,
      versionId: 'v9',
      nextFireAt: at('2026-03-01T13:00:00Z'),
    });
  });

  it('a schedule the head no longer declares does not fire, even if its document says enabled', async () => {
    await deploy(store, scheduler, 'v1', [HOURLY]);
    const id = scheduleIdOf('nightly', HOURLY);
    // The head moved without a sync, and this coordinator believes it synced it already.
    await moveHead(store, 'v2', []);
    const stale = createScheduler({ store, clock });
    await clock.set(at('2026-03-01T13:00:30Z'));
    const schedule = await store.getSchedule(id);
    if (!schedule) throw new Error('no schedule');
    const ctx = createSchedulerContext({ store, config: stale.config, clock });
    expect(await fireSchedule(ctx, schedule, clock.now())).toBe(false);
    expect(await store.listRuns({ limit: 10 })).toEqual([]);
    expect(await store.getSchedule(id)).toMatchObject({ enabled: false });
  });

  it('events older than the retention are deleted by the ticker', async () => {
    const short = createScheduler({ store, clock, options: { eventRetention: '1h' } });
    await deploy(store, short, 'v1', []);
    await store.appendEvents([
      { _id: '000000000000001-0000-00000000', at: 1, type: 'pipeline', pipeline: 'nightly', versionId: 'v0' },
    ]);
    await short.tickSchedules();
    const left = await store.listEvents({ limit: 10 });
    expect(left.every((e) => e.at >= clock.now() - 3_600_000)).toBe(true);
    expect(left.some((e) => e.at === 1)).toBe(false);
  });
});

describe('schedules on FerretDB: several coordinators, one database', () => {
  const ferret = ferretDBForSuite();

  it('two coordinators racing the same tick trigger exactly one run', () =>
    ferret.withDatabase('hf_sched', async ({ uri, dbName }) => {
      const clock = createManualClock(at('2026-03-01T12:00:00Z'));
      const storeA = await createMongoStore({ uri, dbName, clock });
      const storeB = await createMongoStore({ uri, dbName, clock });
      try {
        const a = createScheduler({ store: storeA, clock });
        const b = createScheduler({ store: storeB, clock });
        await deploy(storeA, a, 'v1', [DAILY]);
        await clock.set(at('2026-03-02T03:00:02Z'));
        const results = await Promise.all([a.tickSchedules(), b.tickSchedules(), a.tickSchedules()]);
        expect(results.reduce((n, r) => n + r.fired, 0)).toBe(1);
        const runs = await storeB.listRuns({ limit: 10 });
        expect(runs).toHaveLength(1);
        expect(runs[0]?.trigger).toMatchObject({ event: 'schedule', actor: 'schedule' });
        expect(await storeB.getSchedule(scheduleIdOf('nightly', DAILY))).toMatchObject({
          nextFireAt: at('2026-03-03T03:00:00Z'),
          lastRunId: runs[0]?._id,
        });
      } finally {
        await storeB.close();
        await storeA.close();
      }
    }));

  it('a tick whose coordinator died creating its run is created once by the other two', () =>
    ferret.withDatabase('hf_sched', async ({ uri, dbName }) => {
      const tick = at('2026-03-02T03:00:00Z');
      const clock = createManualClock(at('2026-03-01T12:00:00Z'));
      const stores = await Promise.all([0, 1, 2].map(() => createMongoStore({ uri, dbName, clock })));
      const [storeA, storeB, storeC] = stores as [Store, Store, Store];
      try {
        const dying = createScheduler({ store: diesCreatingRuns(storeA), clock });
        await deploy(storeA, dying, 'v1', [DAILY], 0, ['build', 'test', 'lint']);
        await clock.set(tick + 1_000);
        await expect(dying.tickSchedules()).rejects.toThrow('the coordinator died');
        expect((await storeB.listJobs('nightly/1')).map((j) => j.name)).toEqual(['build']);
        const b = createScheduler({ store: storeB, clock });
        const c = createScheduler({ store: storeC, clock });
        await clock.set(tick + PENDING_RUN_GRACE_MS + 1_000);
        await Promise.all([b.tickSchedules(), c.tickSchedules()]);
        expect((await storeC.listRuns({ limit: 10 })).map((r) => r._id)).toEqual(['nightly/1']);
        expect((await storeC.listJobs('nightly/1')).map((j) => [j.name, j.state])).toEqual([
          ['build', 'queued'],
          ['test', 'queued'],
          ['lint', 'queued'],
        ]);
        expect((await storeC.findQueuedJobs(10)).map((j) => j.name).sort()).toEqual(['build', 'lint', 'test']);
        expect(await storeB.getSchedule(scheduleIdOf('nightly', DAILY))).toMatchObject({
          lastRunId: 'nightly/1',
          pendingRun: null,
        });
      } finally {
        await Promise.all(stores.map((store) => store.close()));
      }
    }));
});
