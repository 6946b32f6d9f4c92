import type { Store } from '../store/types.js';
import type { ResolvedSchedulerConfig } from './config.js';

/** What every scheduler step needs: the store, the timing and a clock. */
export interface SchedulerContext {
  store: Store;
  config: ResolvedSchedulerConfig;
  now: () => number;
}

/** Topics of store wake-ups. */
export const Topics = {
  /** A job became queued: waiting pulls should look again. */
  queue: 'queue',
  /** Something changed in a run: watchers should look again. */
  run: (runId: string) => `run:${runId}`,
} as const;
