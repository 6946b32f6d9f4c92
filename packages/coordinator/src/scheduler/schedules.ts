import { createHash } from 'node:crypto';
import { type PipelineSpec, nextCronTime, parseCron } from '@hiveforge/sdk';
import type { PipelineRecord } from '../store/types.js';
import type { SchedulerContext } from './context.js';
import { specOf } from './run-origins.js';
import { DecisionIds } from './decision-ids.js';

/** A cron expression with its whitespace normalized, so that `0  3 * * *` is `0 3 * * *`. */
const normalizeCron = (cron: string) => cron.trim().split(/\s+/).join(' ');

/**
 * The id of a pipeline's schedule: `<pipeline>/<hash of the cron expression>`. It names the
 * expression, not its position, so reordering or adding crons keeps every schedule's state.
 */
export function scheduleIdOf(pipeline: string, cron: string): string {
  return `${pipeline}/${createHash('sha256').update(normalizeCron(cron)).digest('hex').slice(0, 12)}`;
}

/** The ids a pipeline spec declares, with their expressions (the first of duplicates). */
export function declaredSchedules(pipeline: string, spec: PipelineSpec): Map<string, string> {
  const declared = new Map<string, string>();
  for (const { cron } of spec.triggers.schedule) {
    const id = scheduleIdOf(pipeline, cron);
    if (!declared.has(id)) declared.set(id, cron);
  }
  return declared;
}

/** The first fire time of an expression after `after`; null when it is invalid or never fires. */
export function nextFireTime(cron: string, after: number): number | null {
  const parsed = parseCron(cron);
  return parsed.ok ? nextCronTime(parsed.schedule, after) : null;
}

/**
 * Makes a pipeline's schedules those its version declares: new expressions get a schedule that
 * fires at their next tick after now; those still declared keep their next fire time; those no
 * longer declared are disabled (kept, with their history, and enabled again from their next
 * tick if a later version declares them again). Idempotent, so every coordinator may run it for
 * every head change it sees: the tick decisions, not these documents, decide what fires.
 */
export async function syncSchedules(
  ctx: SchedulerContext,
  pipeline: string,
  versionId: string,
  spec: PipelineSpec,
): Promise<void> {
  const { store } = ctx;
  const now = ctx.clock.now();
  const existing = new Map((await store.listSchedules(pipeline)).map((s) => [s._id, s]));
  for (const [id, cron] of declaredSchedules(pipeline, spec)) {
    const current = existing.get(id);
    if (current?.enabled) {
      if (current.versionId !== versionId) await store.updateSchedule(id, { versionId, updatedAt: now });
    } else if (current) {
      await store.updateSchedule(id, { enabled: true, versionId, nextFireAt: nextFireTime(cron, now), updatedAt: now });
    } else {
      await store.putSchedule({
        _id: id,
        pipeline,
        cron,
        enabled: true,
        versionId,
        nextFireAt: nextFireTime(cron, now),
        lastFiredAt: null,
        lastRunId: null,
        updatedAt: now,
      });
    }
  }
  const declared = declaredSchedules(pipeline, spec);
  for (const schedule of existing.values()) {
    if (schedule.enabled && !declared.has(schedule._id)) {
      await store.updateSchedule(schedule._id, { enabled: false, versionId, updatedAt: now });
    }
  }
}

/** How many times `syncHead` follows a head that moved while it synced. */
const SYNC_HEAD_ROUNDS = 5;

/**
 * Makes a pipeline's schedules those of its head (`head`, as read by the caller, or the stored
 * one), and records the sync as the decision `schedulesSynced(pipeline, version, head's time)`,
 * which spares other coordinators' tickers reading the version. The sync is recorded only if the
 * head is still the one synced once the sync is written: when it moved meanwhile (another deploy
 * whose own sync may have finished first), the new head is synced again, so that a sync that
 * finished late does not stay. Returns the head synced and recorded, or null.
 */
export async function syncHead(
  ctx: SchedulerContext,
  pipeline: string,
  head?: Pick<PipelineRecord, 'versionId' | 'updatedAt'> | null,
): Promise<Pick<PipelineRecord, 'versionId' | 'updatedAt'> | null> {
  const { store } = ctx;
  let current = head === undefined ? await store.getPipeline(pipeline) : head;
  for (let round = 0; current && round < SYNC_HEAD_ROUNDS; round++) {
    const spec = await specOf(ctx, current.versionId);
    if (!spec) return null;
    await syncSchedules(ctx, pipeline, current.versionId, spec);
    const after = await store.getPipeline(pipeline);
    if (after?.versionId === current.versionId && after.updatedAt === current.updatedAt) {
      await store.decide(DecisionIds.schedulesSynced(pipeline, current.versionId, current.updatedAt), {});
      return current;
    }
    current = after;
  }
  return null;
}
