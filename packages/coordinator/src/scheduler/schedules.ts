import { createHash } from 'node:crypto';
import { type PipelineSpec, nextCronTime, parseCron } from '@hiveforge/sdk';
import type { SchedulerContext } from './context.js';

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
  const now = ctx.now();
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
