import { NotFoundError, type PipelineSpec } from '@hiveforge/sdk';
import { type Clock, preciseSystemClock } from '../clock.js';
import { type EventLog, createEventLog } from '../event-log.js';
import type { SecretsCipher } from '../secrets/cipher.js';
import type { AgentRecord, AttemptFingerprint, JobRecord, RunRecord, Store } from '../store/types.js';
import { type AgentGoneReason, markAgentGone } from './agent-sweeper.js';
import { startJob } from './attempt-start.js';
import { type AttemptRecord, listAttempts } from './attempts.js';
import { type ResolvedSchedulerConfig, type SchedulerOptions, resolveSchedulerConfig } from './config.js';
import { createSchedulerContext } from './context.js';
import { endsRunOnly, settleRun } from './dag.js';
import { type CompletionInput, recordCompletion } from './lease-complete.js';
import { requireCurrentAttempt } from './lease-fence.js';
import { type LeaseInRunQuery, requireLeaseInRun } from './lease-in-run.js';
import type { Lease } from './lease-pull.js';
import { type LeaseStatus, renewLeases } from './lease-renew.js';
import { createSweep } from './lease-sweep.js';
import { waitForWakeup } from '../wakeup.js';
import { type PullOptions, pullLease } from './pull-wait.js';
import { cancelRun } from './run-cancel.js';
import { rememberSpec, specOf } from './run-origins.js';
import { type TriggerRunInput, triggerRun } from './run-trigger.js';
import { createScheduleTickerState, tickSchedules } from './schedule-ticker.js';
import { syncHead, syncSchedules } from './schedules.js';
import { Topics, notifyRun } from './topics.js';

export interface SchedulerDeps {
  store: Store;
  options?: SchedulerOptions;
  /**
   * The scheduler's time: leases' expiry, sweeps, schedules, the lease grace.
   * @default preciseSystemClock (the wall clock with sub-millisecond precision)
   */
  clock?: Clock;
  /**
   * Where the scheduler, and the API's procedures, record events for the feed.
   * @default createEventLog(store)
   */
  events?: EventLog;
  /** Decrypts the secrets that leases carry to the jobs that declare them. @default null */
  secrets?: SecretsCipher | null;
}

/** The pull an agent sends with its completion, for its next job. */
export interface NextPull extends PullOptions {
  /** The agent's record, as the request read it. */
  agent: AgentRecord;
  requestId: string;
}

/** The DAG state machine over a Store. Holds no state of its own: any number may share a store. */
export interface Scheduler {
  readonly config: ResolvedSchedulerConfig;
  /** The scheduler's time, which the API's procedures read too. */
  readonly clock: Clock;
  /** The scheduler's event log, which the API's procedures record to too. */
  readonly events: EventLog;
  triggerRun(input: TriggerRunInput): Promise<RunRecord>;
  cancelRun(runId: string, actor: string | null): Promise<void>;
  /**
   * Leases a job to `agent`, waiting up to `waitMs` for one (see `pullLease`). A retried request
   * id gets the lease it was given before.
   */
  pull(agent: AgentRecord, requestId: string, options: PullOptions): Promise<Lease | null>;
  /** Marks a leased attempt as running, with the environment its agent reported. */
  start(agentId: string, jobId: string, attempt: number, fingerprint?: AttemptFingerprint | null): Promise<void>;
  heartbeat(
    agentId: string,
    leases: readonly { jobId: string; attempt: number }[],
  ): Promise<Record<string, LeaseStatus>>;
  /**
   * Records how an attempt ended (see `recordCompletion`), resolves its run, and with `next`
   * then pulls the agent's next job (as `pull` would) and returns its lease. A pull that does not
   * wait runs before the run's resolution when that can only end the run, so that a lease it
   * wins shows that the run goes on and spares the read of the run's witness (see
   * `stillBlocked`); otherwise after it, so that it can lease a job the resolution queued. A
   * completion that is rejected pulls nothing.
   */
  complete(
    agentId: string,
    input: CompletionInput,
    next?: NextPull,
  ): Promise<{ duplicate: boolean; next: Lease | null }>;
  /** Every attempt of a job, oldest first. */
  attempts(jobId: string): Promise<AttemptRecord[]>;
  /** The job when `agentId` holds its attempt; otherwise a FencedError. */
  requireCurrentAttempt(agentId: string, jobId: string, attempt: number): Promise<JobRecord>;
  /** Nothing when the agent holds a current lease of a job of the run; otherwise a ForbiddenError. */
  requireLeaseInRun(query: LeaseInRunQuery): Promise<void>;
  /** Wakes the watchers of a run (run views, followed logs), in this and other coordinators. */
  notifyRun(runId: string): void;
  /**
   * Resolves when something changed in a run (see `notifyRun`), after `ms` at the latest, or
   * when `signal` aborts.
   */
  waitForRun(runId: string, ms: number, signal?: AbortSignal): Promise<void>;
  /** Wakes the waiting pulls of every agent, which read their agent's record again (see `Topics.agents`). */
  notifyAgents(): void;
  /** Marks an agent gone once across all coordinators (see `markAgentGone`); whether this call did. */
  markAgentGone(agent: AgentRecord, reason: AgentGoneReason): Promise<boolean>;
  /** One sweep: expired leases are declared lost, running runs are resolved. */
  sweep(): Promise<{ lost: number }>;
  /**
   * Makes a pipeline's schedules those of the version that just became its head. With the time
   * the head was set (`headAt`), records that this head's schedules are synced, so that other
   * coordinators' tickers need not read the version to sync them again. With the version's
   * `spec` (a deploy has it), the version is not read, and the spec is kept for its runs.
   */
  syncSchedules(pipeline: string, versionId: string, options?: { headAt?: number; spec?: PipelineSpec }): Promise<void>;
  /** One pass of the schedule ticker: fires due schedules (see `schedule-ticker.ts`). */
  tickSchedules(): Promise<{ fired: number }>;
}

/** Creates a scheduler over a store. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store } = deps;
  const config = resolveSchedulerConfig(deps.options);
  const clock = deps.clock ?? preciseSystemClock;
  const events = deps.events ?? createEventLog(store);
  const ctx = createSchedulerContext({ store, config, clock, events, secrets: deps.secrets });
  const sweep = createSweep(ctx);
  const ticker = createScheduleTickerState();
  const pull = (agent: AgentRecord, requestId: string, options: PullOptions) =>
    pullLease(ctx, agent, requestId, options);
  return {
    config: ctx.config,
    clock,
    events,
    triggerRun: (input) => triggerRun(ctx, input),
    cancelRun: (runId, actor) => cancelRun(ctx, runId, actor),
    pull,
    attempts: (jobId) => listAttempts(ctx, jobId),
    requireCurrentAttempt: (agentId, jobId, attempt) => requireCurrentAttempt(ctx, agentId, jobId, attempt),
    start: (agentId, jobId, attempt, fingerprint) => startJob(ctx, agentId, jobId, attempt, fingerprint ?? null),
    heartbeat: (agentId, leases) => renewLeases(ctx, agentId, leases),
    async complete(agentId, input, next) {
      const { duplicate, settlement } = await recordCompletion(ctx, agentId, input);
      if (!next) {
        if (settlement) await settleRun(ctx, settlement);
        return { duplicate, next: null };
      }
      const { agent, requestId, ...options } = next;
      if (!settlement || options.waitMs > 0 || !endsRunOnly(ctx, settlement)) {
        if (settlement) await settleRun(ctx, settlement);
        return { duplicate, next: await pull(agent, requestId, options) };
      }
      try {
        return { duplicate, next: await pull(agent, requestId, options) };
      } finally {
        await settleRun(ctx, settlement);
      }
    },
    requireLeaseInRun: (query) => requireLeaseInRun(store, query),
    notifyRun: (runId) => notifyRun(store, runId),
    waitForRun: (runId, ms, signal) => waitForWakeup(store, Topics.run(runId), ms, signal),
    notifyAgents: () => store.notify(Topics.agents),
    markAgentGone: (agent, reason) => markAgentGone(store, agent, { at: ctx.clock.now(), reason, events }),
    sweep,
    async syncSchedules(pipeline, versionId, { headAt, spec: known } = {}) {
      if (known) rememberSpec(ctx, versionId, known);
      const spec = await specOf(ctx, versionId);
      if (!spec) throw new NotFoundError(`pipeline '${pipeline}' has no version '${versionId}'`);
      if (headAt === undefined) {
        await syncSchedules(ctx, pipeline, versionId, spec);
        ticker.synced.set(pipeline, versionId);
        return;
      }
      const synced = await syncHead(ctx, pipeline, { versionId, updatedAt: headAt });
      if (synced) ticker.synced.set(pipeline, synced.versionId);
    },
    tickSchedules: () => tickSchedules(ctx, ticker),
  };
}
