import type { AgentState } from './agents.js';
import type { JobState } from './jobs.js';
import type { RunStatus } from './runs.js';

/** What an event in the events collection reports. */
export type ClusterEventData =
  | { type: 'run'; runId: string; pipeline: string; number: number; status: RunStatus }
  | { type: 'agent'; agentId: string; name: string; state: AgentState }
  | { type: 'job'; runId: string; jobId: string; job: string; attempt: number; state: JobState }
  | { type: 'pipeline'; pipeline: string; versionId: string }
  | { type: 'schedule'; pipeline: string; scheduleId: string; cron: string; tick: number; runId: string | null };

/** The kinds of events. */
export type ClusterEventType = ClusterEventData['type'];

/**
 * An append-only event. `_id` orders events across coordinators: the writer's clock as 15
 * zero-padded digits of milliseconds, then a per-process sequence and a random suffix
 * (see `event-log.ts`).
 */
export type EventRecord = ClusterEventData & { _id: string; at: number };

/** A page of events: those after a cursor, in `_id` order. */
export interface EventQuery {
  /** Events whose `_id` is greater than this (an event id, or a time prefix). */
  after?: string;
  limit: number;
}

/** The cluster's event log in the Store. */
export interface EventStore {
  /** Appends events; one whose `_id` exists already is ignored. */
  appendEvents(events: readonly EventRecord[]): Promise<void>;
  /** Events in `_id` order, after `query.after`. */
  listEvents(query: EventQuery): Promise<EventRecord[]>;
  /** Deletes the events whose `_id` is less than `id` (retention); returns how many. */
  deleteEventsBefore(id: string): Promise<number>;
}
