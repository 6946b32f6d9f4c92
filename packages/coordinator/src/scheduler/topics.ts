import type { Store } from '../store/types.js';

/** Topics of store wake-ups. */
export const Topics = {
  /** A job became queued: waiting pulls should look again. */
  queue: 'queue',
  /**
   * An agent was suspended, drained or resumed: waiting pulls read their agent's record again
   * before they lease (one topic for all agents: such changes are rare).
   */
  agents: 'agents',
  /** Something changed in a run: watchers should look again. */
  run: (runId: string) => `run:${runId}`,
} as const;

/**
 * How late other coordinators may hear that something changed in a run: its topic is watched by
 * people (run views, followed logs), and a busy run notifies it for every lease and completion.
 */
const RUN_TOPIC_WITHIN_MS = 250;

/** Wakes the watchers of a run (see `RUN_TOPIC_WITHIN_MS`). */
export const notifyRun = (store: Store, runId: string): void =>
  store.notify(Topics.run(runId), { within: RUN_TOPIC_WITHIN_MS });
