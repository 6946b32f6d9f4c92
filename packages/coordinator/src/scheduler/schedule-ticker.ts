import { NotFoundError } from '@hiveforge/sdk';
import { eventTimePrefix } from '../event-log.js';
import type { RunRecord, ScheduleRecord } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { specOf } from './run-origins.js';
import { DecisionIds } from './decision-ids.js';
import { triggerRunOnce } from './run-trigger.js';
import { declaredSchedules, nextFireTime, syncHead } from './schedules.js';

/** What the decision of a schedule's tick records: the tick fired, and the one after it. */
export interface ScheduleTickData {
  /** The latest tick that was due: the one fired, for itself and any missed before it. */
  tick: number;
  /** The schedule's next fire time after this tick. */
  next: number | null;
  /** The head version the tick's run was created from. */
  versionId: string;
}

/** What a coordinator's ticker remembers. Losing it costs a re-sync, nothing else. */
export interface ScheduleTickerState {
  /** The head version whose schedules this ticker last synced, per pipeline. */
  synced: Map<string, string>;
  ticks: number;
  /** When it last looked for pending runs (see `PENDING_RUN_GRACE_MS`). */
  pendingScannedAt: number;
}

/** Creates the state of one coordinator's ticker. */
export const createScheduleTickerState = (): ScheduleTickerState => ({
  synced: new Map(),
  ticks: 0,
  pendingScannedAt: Number.NEGATIVE_INFINITY,
});

/** Due schedules handled per tick; the rest wait for the next one. */
const DUE_PER_TICK = 100;
/** One tick in this many also deletes events older than the retention. */
const RETENTION_EVERY_TICKS = 12;
/** Missed ticks are looked for at most this far back (a schedule down for longer fires once anyway). */
const CATCH_UP_SCAN_MS = 86_400_000;
/** How often a ticker looks for fired ticks whose run was never created. */
const PENDING_SCAN_MS = 30_000;
/**
 * A fired tick whose run is still not known to exist this long after the tick was decided is
 * taken for one whose coordinator died creating it (a coordinator creates a run in well under a
 * second; a late one costs only an unused run number, the trigger being idempotent).
 */
export const PENDING_RUN_GRACE_MS = 60_000;

/**
 * One pass of the schedule ticker, which every coordinator runs: syncs the schedules of heads
 * that changed, fires the due schedules, and now and then applies the events' retention.
 * Returns how many ticks this coordinator fired.
 */
export async function tickSchedules(ctx: SchedulerContext, state: ScheduleTickerState): Promise<{ fired: number }> {
  const { store } = ctx;
  // Heads can change through any coordinator (or one that died between moving the head and
  // syncing): whichever sees a head it has not synced syncs it, unless the sync of that head is
  // recorded as done. (A coordinator that starts would otherwise read every pipeline's version,
  // which can be large, on its first tick.)
  for (const head of await store.listPipelines()) {
    if (state.synced.get(head._id) === head.versionId) continue;
    const marker = DecisionIds.schedulesSynced(head._id, head.versionId, head.updatedAt);
    const synced = (await store.getDecision(marker)) ? head : await syncHead(ctx, head._id, head);
    if (synced) state.synced.set(head._id, synced.versionId);
  }
  const now = ctx.clock.now();
  let fired = 0;
  const errors: unknown[] = [];
  for (const schedule of await store.findDueSchedules(now, DUE_PER_TICK)) {
    try {
      if (await fireSchedule(ctx, schedule, now)) fired++;
    } catch (error) {
      errors.push(error);
    }
  }
  if (now - state.pendingScannedAt >= PENDING_SCAN_MS) {
    state.pendingScannedAt = now;
    for (const schedule of await store.listSchedules()) {
      if (!schedule.pendingRun || now - schedule.updatedAt < PENDING_RUN_GRACE_MS) continue;
      try {
        await createTickRun(ctx, schedule, schedule.pendingRun, schedule.nextFireAt, now);
      } catch (error) {
        errors.push(error);
      }
    }
  }
  if (state.ticks++ % RETENTION_EVERY_TICKS === 0) {
    await store.deleteEventsBefore(eventTimePrefix(now - ctx.config.eventRetentionMs));
  }
  if (errors.length > 0) throw errors[0];
  return { fired };
}

/**
 * Fires one due schedule: decides its tick, and the winner (one coordinator of all) triggers the
 * run from the head version. Every caller then moves the schedule to its next fire time.
 *
 * Missed ticks (no coordinator ran while they were due) fire once: the decision is named by the
 * schedule's stored next fire time, the first tick missed, and fires the latest tick that is due,
 * so a schedule that missed a night of hourly ticks runs once on recovery, not once per hour.
 * Returns whether this call triggered a run.
 */
export async function fireSchedule(ctx: SchedulerContext, schedule: ScheduleRecord, now: number): Promise<boolean> {
  const { store } = ctx;
  const slot = schedule.nextFireAt;
  if (slot === null || !schedule.enabled || slot > now) return false;
  const head = await store.getPipeline(schedule.pipeline);
  const spec = head ? await specOf(ctx, head.versionId) : null;
  if (!head || !spec || !declaredSchedules(schedule.pipeline, spec).has(schedule._id)) {
    // Declared by an older head only (a deploy's sync is under way, or was cut short): it does
    // not fire. The sync of the current head enables it again if it is declared after all.
    await store.updateSchedule(schedule._id, { enabled: false, updatedAt: now }, slot);
    return false;
  }
  if (schedule.pendingRun) {
    // The previous tick's run is not known to exist (its coordinator died creating it, or is
    // slow): this tick's mark is about to replace that one, so make sure of it first. Both
    // create it once, the trigger being idempotent.
    await createTickRun(ctx, schedule, schedule.pendingRun, slot, now).catch((error: unknown) => {
      if (!(error instanceof NotFoundError)) throw error;
    });
  }
  let tick = slot;
  if (now - tick > CATCH_UP_SCAN_MS) {
    const recent = nextFireTime(schedule.cron, now - CATCH_UP_SCAN_MS);
    if (recent !== null && recent <= now) tick = recent;
  }
  for (let next = nextFireTime(schedule.cron, tick); next !== null && next <= now; ) {
    tick = next;
    next = nextFireTime(schedule.cron, tick);
  }
  const { won, decision } = await store.decide<ScheduleTickData>(DecisionIds.scheduleTick(schedule._id, slot), {
    tick,
    next: nextFireTime(schedule.cron, tick),
    versionId: head.versionId,
  });
  const decided = decision.data;
  // Winner and losers alike apply the decision; the guard keeps a late one from moving it back.
  // The tick's run stays pending until it is created (by the winner, or a ticker if it dies).
  const pendingRun = { tick: decided.tick, versionId: decided.versionId };
  await store.updateSchedule(
    schedule._id,
    { nextFireAt: decided.next, lastFiredAt: decided.tick, pendingRun, updatedAt: now },
    slot,
  );
  if (!won) return false;
  await createTickRun(ctx, schedule, pendingRun, decided.next, now);
  return true;
}

/**
 * Creates the run of a fired tick, idempotently (the trigger's key is the tick's), records the
 * schedule's event, and clears the tick's pending run unless the schedule moved on meanwhile.
 * Called by the tick's winner, and by tickers for a tick whose winner died before it was done.
 */
async function createTickRun(
  ctx: SchedulerContext,
  schedule: ScheduleRecord,
  pending: { tick: number; versionId: string },
  nextFireAt: number | null,
  now: number,
): Promise<void> {
  const { store } = ctx;
  let run: RunRecord | null = null;
  let created = true;
  let gone: NotFoundError | null = null;
  try {
    ({ run, created } = await triggerRunOnce(ctx, {
      pipeline: schedule.pipeline,
      versionId: pending.versionId,
      trigger: { event: 'schedule', branch: null, commit: null, repository: null, inputs: {}, actor: 'schedule' },
      key: DecisionIds.scheduleRun(schedule._id, pending.tick),
    }));
  } catch (error) {
    // The store failed: the tick stays pending, and a ticker tries again later. A pipeline or
    // version that is gone cannot start the run, now or later: the tick is settled without one.
    if (!(error instanceof NotFoundError)) throw error;
    gone = error;
  }
  await store.updateSchedule(schedule._id, { ...(run && { lastRunId: run._id }), pendingRun: null }, nextFireAt);
  // Reported by the call that created the run (or found the tick's pipeline gone), once.
  if (!created) return;
  await ctx.events.record(
    {
      type: 'schedule',
      pipeline: schedule.pipeline,
      scheduleId: schedule._id,
      cron: schedule.cron,
      tick: pending.tick,
      runId: run?._id ?? null,
    },
    now,
  );
  if (gone) throw gone;
}
