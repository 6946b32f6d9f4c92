/**
 * The `_id`s of decisions. Each names one thing that two coordinators could race on; the
 * unique insert of that `_id` is the only lock (see DESIGN.md, "one rule for every transition").
 */
export const DecisionIds = {
  /** Run number `n` of a pipeline belongs to one run. */
  runNumber: (pipeline: string, n: number) => `pipeline:${pipeline}/run:${n}`,
  /** A waiting job became queued or skipped once its needs were resolved. */
  jobResolve: (jobId: string) => `job:${jobId}/resolve`,
  /**
   * Attempt `a` of a job was leased to an agent (or claimed by a cancel). Round 1 is the
   * attempt's first lease decision; a later round is decided only when every earlier one was
   * decided but never recorded on the job (its coordinator lost the store mid-pull), so that the
   * attempt, which no agent could have started, is leased again as the same attempt (see
   * `tryLease`): `job:<id>/attempt:1/lease`, then `job:<id>/attempt:1/lease:2`.
   */
  lease: (jobId: string, attempt: number, round = 1) =>
    `job:${jobId}/attempt:${attempt}/lease${round > 1 ? `:${round}` : ''}`,
  /**
   * Attempt `a` started, with the environment its agent reported (an `AttemptStart`): the first
   * start recorded wins, a resent start changes nothing.
   */
  attemptStart: (jobId: string, attempt: number) => `job:${jobId}/attempt:${attempt}/start`,
  /** How attempt `a` ended: completed, lost or cancelled. At most one of them. */
  attemptEnd: (jobId: string, attempt: number) => `job:${jobId}/attempt:${attempt}/end`,
  /** The run a trigger with this request id created, as a `RunCreation`. */
  triggerRequest: (pipeline: string, requestId: string) => `pipeline:${pipeline}/trigger:${requestId}`,
  /** A run was cancelled. */
  runCancel: (runId: string) => `run:${runId}/cancel`,
  /** A run ended with a status. */
  runEnd: (runId: string) => `run:${runId}/end`,
  /**
   * A coordinator's sweep repairs a running run in repair period `period` (its clock's time over
   * the period's length): one coordinator of all per period reads the run whole (see `createSweep`).
   */
  runRepair: (runId: string, period: number) => `run:${runId}/repair:${period}`,
  /**
   * Schedule `scheduleId` (`<pipeline>/<cron hash>`) fired for its tick due at `tick` (epoch
   * ms), shown as an ISO time: `schedule:web/3f2a9c1e/tick:2026-01-02T03:00:00.000Z`.
   */
  scheduleTick: (scheduleId: string, tick: number) => `schedule:${scheduleId}/tick:${new Date(tick).toISOString()}`,
  /**
   * The run the tick at `tick` of schedule `scheduleId` started, as a `RunCreation` (the key of
   * its idempotent trigger): `schedule:web/3f2a9c1e/tick:2026-01-02T03:00:00.000Z/run`.
   */
  scheduleRun: (scheduleId: string, tick: number) => `schedule:${scheduleId}/tick:${new Date(tick).toISOString()}/run`,
  /**
   * The schedules of a pipeline were made those of its head, as set at `headAt` to `versionId`:
   * coordinators that find it need not read the version to sync them (see `tickSchedules`).
   */
  schedulesSynced: (pipeline: string, versionId: string, headAt: number) =>
    `pipeline:${pipeline}/head:${headAt}:${versionId}/schedules-synced`,
  /** An agent became gone (it deregistered, or went silent): an agent is gone once, for good. */
  agentGone: (agentId: string) => `agent:${agentId}/gone`,
} as const;

/** The id of a run. */
export const runIdOf = (pipeline: string, number: number) => `${pipeline}/${number}`;
/** The id of a job of a run. */
export const jobIdOf = (runId: string, name: string) => `${runId}/${name}`;
/** One attempt of a job, as a key: `<jobId>#<attempt>` (the key heartbeats answer by, too). */
export const attemptKey = (jobId: string, attempt: number) => `${jobId}#${attempt}`;
