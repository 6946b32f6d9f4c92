import type { SecretsCipher } from '../secrets/cipher.js';
import { NotFoundError, type PipelineSpec } from '@hiveforge/sdk';
import type { AgentRecord, AttemptFingerprint, JobRecord, RunRecord, Store } from '../store/types.js';
import { type AttemptRecord, listAttempts } from './attempts.js';
import { type ResolvedSchedulerConfig, type SchedulerOptions, resolveSchedulerConfig } from './config.js';
import { type SchedulerContext, createSchedulerContext } from './context.js';
import { rememberSpec, specOf } from './run-origins.js';
import { Topics } from './topics.js';
import { type AttemptResult, resolveRun } from './dag.js';
import {
  type Lease,
  type LeaseStatus,
  type NextPull,
  completeJob,
  leaseJob,
  renewLeases,
  requireCurrentAttempt,
  startJob,
  sweepExpiredLeases,
} from './dispatcher.js';
import { watchTopic } from '../wakeup.js';
import { cancelRun } from './run-cancel.js';
import { type TriggerRunInput, retireOrphanedJobs, triggerRun } from './run-trigger.js';
import { createScheduleTickerState, tickSchedules } from './schedule-ticker.js';
import { syncHead, syncSchedules } from './schedules.js';

export interface SchedulerDeps {
  store: Store;
  options?: SchedulerOptions;
  /** @default wall-clock time with sub-millisecond precision */
  now?: () => number;
  /** Decrypts the secrets that leases carry to the jobs that declare them. @default null */
  secrets?: SecretsCipher | null;
}

/** The DAG state machine over a Store. Holds no state of its own: any number may share a store. */
export interface Scheduler {
  readonly config: ResolvedSchedulerConfig;
  triggerRun(input: TriggerRunInput): Promise<RunRecord>;
  cancelRun(runId: string, actor: string | null): Promise<void>;
  /**
   * Leases a job to `agent`, waiting up to `waitMs` for one. `firstSending` says the request id
   * was never sent before, so its first look need not check for a lease decided for it. A pull
   * that has waited reads its agent's record again before it leases: an agent drained or
   * suspended while its pull waited takes no job.
   */
  pull(
    agent: AgentRecord,
    requestId: string,
    options: {
      waitMs: number;
      signal?: AbortSignal;
      firstSending?: boolean;
      /** Called with the agent's record when the pull read it again (see `Topics.agents`). */
      onAgent?: (agent: AgentRecord) => void;
    },
  ): Promise<Lease | null>;
  /** Marks a leased attempt as running, with the environment its agent reported. */
  start(agentId: string, jobId: string, attempt: number, fingerprint?: AttemptFingerprint | null): Promise<void>;
  heartbeat(
    agentId: string,
    leases: readonly { jobId: string; attempt: number }[],
  ): Promise<Record<string, LeaseStatus>>;
  /** Records how an attempt ended; with `next`, then pulls the agent's next job (see `completeJob`). */
  complete<T = never>(
    agentId: string,
    input: { jobId: string; attempt: number; result: AttemptResult },
    next?: NextPull<T>,
  ): Promise<{ duplicate: boolean; next: T | null }>;
  /** Every attempt of a job, oldest first. */
  attempts(jobId: string): Promise<AttemptRecord[]>;
  /** The job when `agentId` holds its attempt; otherwise a FencedError. */
  requireCurrentAttempt(agentId: string, jobId: string, attempt: number): Promise<JobRecord>;
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

/** One sweep in this many also repairs running runs (see `sweep`). */
const REPAIR_EVERY_SWEEPS = 10;

/** Wall-clock milliseconds with sub-millisecond precision, for timings worth comparing. */
const preciseNow = () => performance.timeOrigin + performance.now();

/** Creates a scheduler over a store. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store } = deps;
  const config = resolveSchedulerConfig(deps.options);
  const ctx = createSchedulerContext({ store, config, now: deps.now ?? preciseNow, secrets: deps.secrets });
  // Sweeps go through a store that notes its failures and stalls (see `LeaseGrace`).
  const sweepCtx: SchedulerContext = { ...ctx, store: ctx.leaseGrace.watch(store) };
  let sweeps = 0;
  const ticker = createScheduleTickerState();
  /** One sweep (see `Scheduler.sweep`), through the store the lease grace watches. */
  const sweep = async () => {
    const lost = await sweepExpiredLeases(sweepCtx);
    // Repairing runs reads every job of every running run: do it only every few sweeps. It
    // is needed only when a coordinator died between a decision and its projection. A run
    // this coordinator read whole (or created) within the last repair period is left to the
    // next pass: each running run is repaired by each coordinator at least every two periods.
    if (sweeps++ % REPAIR_EVERY_SWEEPS === 0) {
      const period = REPAIR_EVERY_SWEEPS * ctx.config.sweepIntervalMs;
      for (const run of await sweepCtx.store.listRuns({ status: 'running', limit: 100 })) {
        const seenAt = ctx.blockers.get(run._id)?.seenAt;
        if (seenAt !== undefined && ctx.now() - seenAt < period) continue;
        await resolveRun(sweepCtx, run._id);
      }
      await retireOrphanedJobs(sweepCtx);
    }
    return { lost };
  };
  return {
    config: ctx.config,
    triggerRun: (input) => triggerRun(ctx, input),
    cancelRun: (runId, actor) => cancelRun(ctx, runId, actor),
    async pull(agent, requestId, { waitMs, signal, firstSending = false, onAgent }) {
      const deadline = ctx.now() + waitMs;
      // Watched before the first look: a job queued while a look is under way wakes the wait
      // that follows it at once, instead of being found only at the next look. A change of an
      // agent's state (through any coordinator) wakes it too.
      const watch = waitMs > 0 ? watchTopic(ctx.store, [Topics.queue, Topics.agents]) : null;
      let agentsChanged = false;
      const offAgents = watch ? ctx.store.subscribe(Topics.agents, () => (agentsChanged = true)) : null;
      // The agent's record as this pull last read it; `fresh` is false once the pull has waited
      // since (the agent may have been drained or suspended meanwhile).
      let current = agent;
      let fresh = true;
      const reread = async (): Promise<AgentRecord> => {
        current = (await ctx.store.getAgent(agent._id)) ?? { ...current, state: 'gone' };
        fresh = true;
        onAgent?.(current);
        return current;
      };
      try {
        // Only the first look of a first sending skips the lookup: while this call waits, the
        // agent may give up on it and resend the request elsewhere.
        for (let look = 0; ; look++) {
          if (agentsChanged) {
            agentsChanged = false;
            await reread();
          }
          const lease = await leaseJob(ctx, current, requestId, {
            resent: !(firstSending && look === 0),
            // At most one read of the agent per look, and only when a job it could take is found.
            recheck: fresh ? undefined : reread,
          });
          if (lease || signal?.aborted) return lease;
          const left = deadline - ctx.now();
          if (left <= 0 || !watch) return null;
          // Wait for a wake-up, but look again at least every second: a job can also become
          // ready in another coordinator whose notification does not reach this one.
          await watch.wait(Math.min(left, 1_000), signal);
          fresh = false;
        }
      } finally {
        watch?.close();
        offAgents?.();
      }
    },
    attempts: (jobId) => listAttempts(ctx, jobId),
    requireCurrentAttempt: (agentId, jobId, attempt) => requireCurrentAttempt(ctx, agentId, jobId, attempt),
    start: (agentId, jobId, attempt, fingerprint) => startJob(ctx, agentId, jobId, attempt, fingerprint ?? null),
    heartbeat: (agentId, leases) => renewLeases(ctx, agentId, leases),
    complete: (agentId, input, next) => completeJob(ctx, agentId, input, next),
    sweep: () => ctx.leaseGrace.observe(sweep),
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
