import type { Clock } from '../clock.js';
import { type EventLog, createEventLog } from '../event-log.js';
import type { SecretsCipher } from '../secrets/cipher.js';
import type { PipelineSpec } from '@hiveforge/sdk';
import type { JobRecord, RunRecord, Store } from '../store/types.js';
import { LocalClaims } from './claims.js';
import type { ResolvedSchedulerConfig } from './config.js';
import { type FreshReads, createFreshReads } from './fresh-reads.js';
import { LeasedJobs } from './leased-jobs.js';
import { RunProgress } from './run-progress.js';
import { type LeaseGrace, createLeaseGrace, stallMsOf } from './lease-grace.js';

/** What every scheduler step needs: the store, the timing and a clock. */
export interface SchedulerContext {
  store: Store;
  config: ResolvedSchedulerConfig;
  /** The scheduler's one source of time (see `Clock`). */
  clock: Clock;
  /** Where the scheduler records the changes it makes, for the events feed. */
  events: EventLog;
  /**
   * Specs of pipeline versions already read. Versions are content-addressed and never change,
   * so caching them keeps no state that matters: a coordinator that starts empty reads them again.
   */
  specs: Map<string, PipelineSpec>;
  /** What of runs already read never changes: their pipeline, version and trigger. */
  origins: Map<string, RunOrigin>;
  /**
   * Reads of `specs` and `origins` under way, by `spec:<versionId>` or `origin:<runId>`: the
   * pulls that miss the cache at once (a wake-up starts every waiting pull) share one read
   * instead of each reading the same document (a large pipeline's version takes seconds).
   */
  loading: Map<string, Promise<unknown>>;
  /**
   * For each pipeline version whose spec this coordinator holds, the names of its jobs that
   * another job needs (see `endsRunOnly`). Derived from `specs`, which never change.
   */
  needed: Map<string, ReadonlySet<string>>;
  /**
   * Resolutions of runs under way in this coordinator (see `resolveRun`), so that a burst of
   * completions of one run resolves it once rather than once each, all at the same time.
   */
  resolving: Map<string, { again: boolean; done: Promise<void> }>;
  /**
   * What the last resolution of each running run found unfinished (see `RunBlockers`). Only job
   * ids, read again before they are relied on: a coordinator that starts empty loses nothing.
   */
  blockers: Map<string, RunBlockers>;
  /** Reads of blockers by completions, shared while one is in flight (see `FreshReads`). */
  witnesses: FreshReads<JobRecord | null>;
  /** Ready jobs this coordinator's pulls are trying or have just leased (see `LocalClaims`). */
  claims: LocalClaims;
  /** Jobs this coordinator leased, for their completions (see `LeasedJobs`). */
  leased: LeasedJobs;
  /**
   * The turn this coordinator last saw per concurrency group (see `takeTurn`). Only a hint:
   * turns are decisions in the store, and a coordinator that starts empty walks forward from
   * turn 1 to the latest.
   */
  turns: Map<string, number>;
  /** Leases won here, which show that their runs go on (see `RunProgress`). */
  progress: RunProgress;
  /** Keeps the sweeper from declaring leases lost because of a store outage (see `LeaseGrace`). */
  leaseGrace: LeaseGrace;
  /** Decrypts the secrets leases carry; null or absent: no secrets key, leases carry none. */
  secrets?: SecretsCipher | null;
}

/**
 * Unfinished jobs a run's last resolution found, which let a completion tell with a few reads
 * by id that it frees nothing, instead of reading every job of the run.
 */
export interface RunBlockers {
  /** An unfinished job of the run: while it is unfinished, so is the run. */
  run: string;
  /** For each waiting job (by name), the id of one of its needs that was unfinished. */
  needs: Map<string, string>;
  /** For each job name, the waiting jobs that need it. */
  dependents: Map<string, string[]>;
  /** When this coordinator last read every job of the run, or created them (its clock). */
  seenAt: number;
}

/** The fields of a run fixed when it is created. */
export type RunOrigin = Pick<RunRecord, 'pipeline' | 'versionId' | 'trigger'>;

/** What {@link createSchedulerContext} builds a context from. */
export interface SchedulerContextOptions {
  store: Store;
  config: ResolvedSchedulerConfig;
  clock: Clock;
  /** @default createEventLog(store) */
  events?: EventLog;
  /** @default null */
  secrets?: SecretsCipher | null;
}

/** A context with empty caches and hints, as a coordinator starts. */
export function createSchedulerContext({
  store,
  config,
  clock,
  events = createEventLog(store),
  secrets = null,
}: SchedulerContextOptions): SchedulerContext {
  const now = () => clock.now();
  return {
    store,
    config,
    clock,
    events,
    specs: new Map(),
    origins: new Map(),
    loading: new Map(),
    needed: new Map(),
    resolving: new Map(),
    blockers: new Map(),
    witnesses: createFreshReads((jobId) => store.getJob(jobId)),
    claims: new LocalClaims(now),
    leased: new LeasedJobs(),
    turns: new Map(),
    progress: new RunProgress(),
    leaseGrace: createLeaseGrace({
      graceMs: config.leaseTtlMs,
      stallMs: stallMsOf(config.leaseTtlMs, config.heartbeatIntervalMs),
      outageLimitMs: config.storeOutageLimitMs,
      clock,
    }),
    secrets,
  };
}
