import { type Duration, parseDuration } from '@hiveforge/sdk';

/** The default most log bytes a job attempt may store: 64 MiB. */
export const DEFAULT_LOG_LIMIT_BYTES = 64 * 1_048_576;

/** Timing of the scheduler, and the limits it keeps jobs to. */
export interface SchedulerOptions {
  /** How often agents heartbeat. @default '2s' */
  heartbeatInterval?: Duration;
  /** A lease not renewed for this long is declared lost. @default '6s' */
  leaseTtl?: Duration;
  /** How often each coordinator sweeps expired leases and stalled runs. @default '1s' */
  sweepInterval?: Duration;
  /** The longest an agent's pull waits for work before answering "nothing". @default '20s' */
  pullWait?: Duration;
  /** Attempts lost with their agent that are retried without counting against `retries`. @default 3 */
  maxLostAttempts?: number;
  /**
   * How often each coordinator looks for due schedules (cron triggers). A tick fires at most
   * this late. @default '5s'
   */
  scheduleInterval?: Duration;
  /** Events older than this are deleted from the events collection. @default '7d' */
  eventRetention?: Duration;
  /**
   * The most log bytes one job attempt may store: chunks past it are refused (`HF_LOG_LIMIT`),
   * whatever the agent does. @default 64 MiB
   */
  logLimitBytes?: number;
  /**
   * The longest store outage during which no lease is declared lost (see `LeaseGrace`): agents
   * keep their jobs' calls going this long (their own `--store-outage-limit`). After a longer
   * one, leases that expired meanwhile are lost as soon as the store answers. @default '2m'
   */
  storeOutageLimit?: Duration;
}

export interface ResolvedSchedulerConfig {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  sweepIntervalMs: number;
  pullWaitMs: number;
  maxLostAttempts: number;
  scheduleIntervalMs: number;
  eventRetentionMs: number;
  logLimitBytes: number;
  storeOutageLimitMs: number;
}

/** Resolves scheduler options to milliseconds with defaults. */
export function resolveSchedulerConfig(options: SchedulerOptions = {}): ResolvedSchedulerConfig {
  return {
    heartbeatIntervalMs: parseDuration(options.heartbeatInterval ?? '2s'),
    leaseTtlMs: parseDuration(options.leaseTtl ?? '6s'),
    sweepIntervalMs: parseDuration(options.sweepInterval ?? '1s'),
    pullWaitMs: parseDuration(options.pullWait ?? '20s'),
    maxLostAttempts: options.maxLostAttempts ?? 3,
    scheduleIntervalMs: parseDuration(options.scheduleInterval ?? '5s'),
    eventRetentionMs: parseDuration(options.eventRetention ?? '7d'),
    logLimitBytes: options.logLimitBytes ?? DEFAULT_LOG_LIMIT_BYTES,
    storeOutageLimitMs: parseDuration(options.storeOutageLimit ?? '2m'),
  };
}
