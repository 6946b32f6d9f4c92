import type { TriggerEvent } from '@hiveforge/sdk';

/** The states of a run. */
export const RunStatus = {
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

/** What started a run. */
export interface RunTrigger {
  event: TriggerEvent;
  branch: string | null;
  commit: string | null;
  inputs: Record<string, string | number | boolean>;
  actor: string | null;
  /** Where the sources are: a git URL, or a local directory for `hiveforge run`. */
  repository: string | null;
  /**
   * A pull request from a fork (event `pullRequest`): its jobs are given no secret of the
   * coordinator's or the agent's. Absent in runs stored before it existed. @default false
   */
  fork?: boolean;
}

export interface RunRecord {
  _id: string;
  pipeline: string;
  number: number;
  versionId: string;
  trigger: RunTrigger;
  status: RunStatus;
  createdAt: number;
  finishedAt: number | null;
}

export interface RunQuery {
  pipeline?: string;
  status?: RunStatus;
  /** Runs created before this run's creation, for pagination. */
  before?: number;
  limit: number;
}

/** Runs of the Store. */
export interface RunStore {
  insertRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | null>;
  updateRun(id: string, patch: Partial<Omit<RunRecord, '_id'>>): Promise<void>;
  listRuns(query: RunQuery): Promise<RunRecord[]>;
  /** The highest run number of a pipeline, 0 when it has none. */
  lastRunNumber(pipeline: string): Promise<number>;
}
