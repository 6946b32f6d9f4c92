import { randomBytes } from 'node:crypto';
import { BadInputError } from '@hiveforge/sdk';
import type { ClusterEventData, EventRecord, Store } from './store/types.js';

/** Digits of the time prefix of event ids: milliseconds since the epoch, zero-padded. */
const TIME_DIGITS = 15;
/** The wake-up topic notified when events are appended. */
export const EVENTS_TOPIC = 'events';
/**
 * How late other coordinators' feed watchers may hear of new events: a busy cluster appends one
 * for every job that ends, and the feed is watched by people and dashboards.
 */
const EVENTS_TOPIC_WITHIN_MS = 250;

/**
 * A time prefix of event ids: every event written at or after `at` (by its writer's clock) has
 * an id greater than it, every earlier one a smaller id. Usable as a cursor.
 */
export const eventTimePrefix = (at: number): string => String(Math.max(0, Math.floor(at))).padStart(TIME_DIGITS, '0');

/** The writer's time of an event id or time prefix. */
export const timeOfEventId = (id: string): number => Number(id.slice(0, TIME_DIGITS));

const CURSOR = /^\d{15}(-[0-9a-z]{4}-[0-9a-f]{8})?$/;

/** Checks a cursor a client sent (an event id or a time prefix). */
export function parseEventCursor(cursor: string): string {
  if (!CURSOR.test(cursor)) {
    throw new BadInputError('the events cursor is not an event id this API issued', [
      { path: 'after', message: 'malformed' },
    ]);
  }
  return cursor;
}

/** Where a coordinator records its events (see {@link createEventLog}). */
export interface EventLog {
  /**
   * A new event id: `<ms, 15 digits>-<sequence>-<tag>`. Ids order by their writer's clock
   * across coordinators, and by this log's sequence within one millisecond; the log's random tag
   * keeps two logs' ids apart.
   */
  newId(at: number): string;
  /**
   * Appends an event to the store's events collection and wakes the feed's watchers. Best
   * effort: the event reports a change that has happened, so failing to record it must not fail
   * the change (the state itself stays readable from runs, jobs and agents). `at` is the caller's
   * clock's time.
   */
  record(data: ClusterEventData, at: number): Promise<void>;
}

/**
 * Creates the event log of one coordinator (its scheduler's: see `SchedulerDeps.events`), with
 * its own id sequence and tag, drawn once. (Drawing random bytes per event cost a dispatching
 * coordinator a few percent of its time.)
 */
export function createEventLog(store: Store): EventLog {
  let sequence = 0;
  const tag = randomBytes(4).toString('hex');
  const newId = (at: number) => {
    sequence = (sequence + 1) % 1_679_616; // 36^4
    return `${eventTimePrefix(at)}-${sequence.toString(36).padStart(4, '0')}-${tag}`;
  };
  return {
    newId,
    async record(data, at) {
      try {
        await store.appendEvents([{ ...data, _id: newId(at), at } as EventRecord]);
        store.notify(EVENTS_TOPIC, { within: EVENTS_TOPIC_WITHIN_MS });
      } catch {
        // See above: an event lost costs the feed one entry, never state.
      }
    },
  };
}
