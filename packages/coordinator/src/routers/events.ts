import { tracked } from '@trpc/server';
import { z } from 'zod';
import { EVENTS_TOPIC, eventTimePrefix, parseEventCursor, timeOfEventId } from '../event-log.js';
import type { ClusterEventData, EventRecord, Store } from '../store/types.js';
import { router, userProcedure } from '../trpc.js';
import { waitForWakeup } from '../wakeup.js';

/**
 * A change in the cluster, as `events.watch` reports it: a run or an agent, with `id`, the
 * cursor to resume after it. Events from the events collection also carry `at`, when they
 * happened.
 */
export type ClusterEvent = Extract<ClusterEventData, { type: 'run' | 'agent' }> & { id: string; at?: number };

/** An event of any kind, as `events.tail` and `events.list` report it. */
export type FeedEvent = ClusterEventData & { id: string; at: number };

const EventType = z.enum(['run', 'agent', 'job', 'pipeline', 'schedule']);
const Cursor = z.string().max(100).transform(parseEventCursor);

/**
 * How far before its cursor a live feed reads again: an event whose writer's clock lags (or
 * whose insert was slow) gets an id below events already reported, and is reported late
 * rather than never. Ids are remembered over this window so that nothing is reported twice.
 */
const OVERLAP_MS = 5_000;
const PAGE = 500;

const toFeed = ({ _id, ...event }: EventRecord): FeedEvent => ({ ...event, id: _id });

/**
 * Follows the events collection from `floor` (exclusive) until `signal` aborts: reads what is
 * new, then waits for a wake-up or `intervalMs`.
 */
async function* followEvents(
  store: Store,
  floor: string,
  intervalMs: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<EventRecord> {
  let cursor = floor;
  const seen = new Map<string, number>();
  while (!signal?.aborted) {
    const back = eventTimePrefix(timeOfEventId(cursor) - OVERLAP_MS);
    // Nothing at or below `floor` is reported: the client saw everything before it.
    let after = floor;
    if (back > floor) after = back;
    for (;;) {
      const page = await store.listEvents({ after, limit: PAGE });
      for (const event of page) {
        if (seen.has(event._id)) continue;
        seen.set(event._id, timeOfEventId(event._id));
        if (event._id > cursor) cursor = event._id;
        yield event;
      }
      const last = page.at(-1);
      if (page.length < PAGE || !last) break;
      after = last._id;
    }
    const forget = timeOfEventId(cursor) - 2 * OVERLAP_MS;
    for (const [id, at] of seen) if (at < forget) seen.delete(id);
    if (signal?.aborted) return;
    await waitForWakeup(store, EVENTS_TOPIC, intervalMs, signal);
  }
}

/** The feed's starting view: the latest runs and the agents, as of `id`. */
async function snapshot(store: Store, id: string): Promise<ClusterEvent[]> {
  const runs = await store.listRuns({ limit: 200 });
  const agents = await store.listAgents();
  return [
    ...runs.map(
      (r): ClusterEvent => ({
        type: 'run',
        runId: r._id,
        pipeline: r.pipeline,
        number: r.number,
        status: r.status,
        id,
      }),
    ),
    ...agents.map((a): ClusterEvent => ({ type: 'agent', agentId: a._id, name: a.name, state: a.state, id })),
  ];
}

const isClusterEvent = (event: EventRecord): event is EventRecord & { type: 'run' | 'agent' } =>
  event.type === 'run' || event.type === 'agent';

/**
 * Cluster events from the store's events collection: runs created and finished, jobs finished or
 * retried, agents registered, suspended, drained or resumed, pipelines deployed, schedules
 * fired. Any coordinator serves the same feed, and a client resumes it on any of them with the
 * `id` of the last event it saw.
 */
export const eventsRouter = router({
  /**
   * Runs and agents, list-then-watch, over Server-Sent Events: without `after`, the current runs
   * and agents first, then each change; with `after` (the `id` of the last event seen), the
   * changes since then.
   */
  watch: userProcedure('viewer')
    .input(
      z
        .object({
          /** How long a quiet feed waits before looking again (wake-ups usually come sooner). */
          intervalMs: z.number().int().min(100).max(10_000).default(1_000),
          after: Cursor.optional(),
        })
        .default({ intervalMs: 1_000 }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const floor = input.after ?? eventTimePrefix(ctx.clock.now());
      if (!input.after) yield* await snapshot(ctx.store, floor);
      for await (const event of followEvents(ctx.store, floor, input.intervalMs, signal)) {
        if (isClusterEvent(event)) yield toFeed(event) as ClusterEvent;
      }
    }),

  /**
   * Every kind of event (or those in `types`) as they are appended, over Server-Sent Events.
   * Each message is tracked by the event's id, so a reconnecting client resumes after the last
   * one it got; `lastEventId` (or `after`) starts after a stored cursor, and without either the
   * feed starts now.
   */
  tail: userProcedure('viewer')
    .input(
      z
        .object({
          intervalMs: z.number().int().min(100).max(10_000).default(1_000),
          after: Cursor.optional(),
          lastEventId: Cursor.nullish(),
          types: z.array(EventType).min(1).max(5).optional(),
        })
        .default({ intervalMs: 1_000 }),
    )
    .subscription(async function* ({ ctx, input, signal }) {
      const types = input.types ? new Set<string>(input.types) : null;
      const floor = input.lastEventId ?? input.after ?? eventTimePrefix(ctx.clock.now());
      for await (const event of followEvents(ctx.store, floor, input.intervalMs, signal)) {
        if (!types || types.has(event.type)) yield tracked(event._id, toFeed(event));
      }
    }),

  /**
   * A page of events in order, after `after` (an event's `id` or a previous page's `cursor`).
   * `cursor` is where the next page starts; `more` is true when this page was full.
   */
  list: userProcedure('viewer')
    .input(
      z
        .object({
          after: Cursor.optional(),
          limit: z.number().int().min(1).max(PAGE).default(100),
          types: z.array(EventType).min(1).max(5).optional(),
        })
        .default({ limit: 100 }),
    )
    .query(async ({ ctx, input }) => {
      const page = await ctx.store.listEvents({ after: input.after, limit: input.limit });
      const types = input.types ? new Set<string>(input.types) : null;
      return {
        events: page.filter((e) => !types || types.has(e.type)).map(toFeed),
        cursor: page.at(-1)?._id ?? input.after ?? null,
        more: page.length === input.limit,
      };
    }),
});
