/**
 * The scheduler's public face: the rest of the coordinator (server, routers, artifacts) reaches
 * the scheduler through {@link Scheduler} and what this module exports, never through the files
 * of the lease lifecycle (`lease-pull.ts`, `lease-fence.ts`, `attempt-start.ts`,
 * `lease-renew.ts`, `lease-complete.ts`, `lease-sweep.ts`) or the DAG's resolution (`dag.ts`).
 * A test of the import graph (`test/import-cycles.test.ts`) keeps it so.
 * @example
 * const scheduler = createScheduler({ store, options: { leaseTtl: '6s' } });
 * const lease = await scheduler.pull(agent, requestId, { waitMs: 20_000 });
 */
export { createScheduler, type NextPull, type Scheduler, type SchedulerDeps } from './scheduler.js';
export {
  DEFAULT_LOG_LIMIT_BYTES,
  resolveSchedulerConfig,
  type ResolvedSchedulerConfig,
  type SchedulerOptions,
} from './config.js';
export type { PullOptions } from './pull-wait.js';
export type { Lease } from './lease-pull.js';
export type { LeaseStatus } from './lease-renew.js';
export type { CompletionInput } from './lease-complete.js';
export type { AttemptEnd, AttemptResult } from './attempt-end.js';
export type { AttemptRecord } from './attempts.js';
export type { LeaseInRunQuery } from './lease-in-run.js';
export type { TriggerRunInput } from './run-trigger.js';
export {
  type AgentGoneReason,
  type AgentSweeper,
  type AgentSweeperOptions,
  createAgentSweeper,
} from './agent-sweeper.js';
export { waitingReason, labelWarnings } from './agent-labels.js';
export { DecisionIds, attemptKey, jobIdOf, runIdOf } from './decision-ids.js';
export { INPUT_LIMITS, RunInputsSchema } from './run-inputs.js';
export { scheduleIdOf } from './schedules.js';
