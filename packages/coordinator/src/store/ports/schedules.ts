/**
 * One cron trigger of a pipeline: `_id` is `<pipeline>/<hash of the cron expression>`, so the
 * same expression keeps its schedule (and its next fire time) across deploys.
 */
export interface ScheduleRecord {
  _id: string;
  pipeline: string;
  /** The cron expression as the pipeline declares it (UTC). */
  cron: string;
  /** False once the pipeline's head no longer declares it. */
  enabled: boolean;
  /** The head version that declared it last. */
  versionId: string;
  /** When it fires next (epoch ms); null when it never will. */
  nextFireAt: number | null;
  /** The tick it last fired for, and the run that tick started. */
  lastFiredAt: number | null;
  lastRunId: string | null;
  /**
   * A tick that fired and whose run is not known to exist yet: set when the tick is decided,
   * cleared once its run is. Tickers create the run of one left set for long (its coordinator
   * died while creating it). Absent on schedules stored before it existed.
   */
  pendingRun?: { tick: number; versionId: string } | null;
  updatedAt: number;
}

/** Fields of a schedule that change after it is written. */
export type SchedulePatch = Partial<Omit<ScheduleRecord, '_id' | 'pipeline' | 'cron'>>;

/** Cron schedules of the Store. */
export interface ScheduleStore {
  /** Writes a schedule whole (insert or replace). */
  putSchedule(schedule: ScheduleRecord): Promise<void>;
  getSchedule(id: string): Promise<ScheduleRecord | null>;
  /** Schedules ordered by `_id`; with `pipeline`, only that pipeline's. */
  listSchedules(pipeline?: string): Promise<ScheduleRecord[]>;
  /**
   * Applies `patch`; with `expectedNextFireAt`, only while the schedule's next fire time is still
   * that (so that a late writer does not move it back). Returns whether it applied.
   */
  updateSchedule(id: string, patch: SchedulePatch, expectedNextFireAt?: number | null): Promise<boolean>;
  /** Enabled schedules whose next fire time is at or before `now`, earliest first. */
  findDueSchedules(now: number, limit: number): Promise<ScheduleRecord[]>;
}
