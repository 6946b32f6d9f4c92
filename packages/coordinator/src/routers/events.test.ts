import { describe, expect, it } from 'vitest';
import { createAnalyzer } from '../analyzer/index.js';
import { createEventLog, eventTimePrefix, parseEventCursor, timeOfEventId } from '../event-log.js';
import { createAgentTokenCache, createTokenMemo } from '../auth.js';
import { createMetrics } from '../metrics.js';
import { systemClock } from '../clock.js';
import { createScheduler } from '../scheduler/index.js';
import { createMemoryStore } from '../store/memory.js';
import type { EventRecord, Store } from '../store/types.js';
import { appRouter } from './app.js';

const T = Date.parse('2026-03-01T12:00:00Z');
const { newId: newEventId } = createEventLog(createMemoryStore());

const pipelineEvent = (at: number, versionId: string): EventRecord => ({
  _id: newEventId(at),
  at,
  type: 'pipeline',
  pipeline: 'web',
  versionId,
});

function callerOn(store: Store, signal: AbortSignal) {
  return appRouter.createCaller({
    store,
    scheduler: createScheduler({ store }),
    clock: systemClock,
    analyzer: createAnalyzer(),
    caller: { kind: 'user', name: 'vic', role: 'viewer' },
    agents: createAgentTokenCache({ ttlMs: 0 }),
    tokens: createTokenMemo(),
    agentSecret: 'a-registration-secret-for-tests',
    metrics: createMetrics(),
    secrets: null,
    signal,
  });
}

describe('event ids', () => {
  it('order by time, then by sequence within a millisecond; a time prefix sorts before its millisecond', () => {
    const ids = [newEventId(T), newEventId(T), newEventId(T + 1), newEventId(T - 1)];
    expect([...ids].sort()).toEqual([ids[3], ids[0], ids[1], ids[2]]);
    expect(eventTimePrefix(T) < (ids[0] as string)).toBe(true);
    expect(eventTimePrefix(T) > (ids[3] as string)).toBe(true);
    expect(timeOfEventId(ids[2] as string)).toBe(T + 1);
    expect(parseEventCursor(ids[0] as string)).toBe(ids[0]);
    expect(parseEventCursor(eventTimePrefix(T))).toBe(eventTimePrefix(T));
    for (const bad of ['', 'abc', `${eventTimePrefix(T)}-x`, `${ids[0]}'`])
      expect(() => parseEventCursor(bad)).toThrow();
  });

  it("are unique within a millisecond of one log, and carry the log's tag after the sequence", () => {
    const ids = Array.from({ length: 20_000 }, () => newEventId(T));
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Set(ids.map((id) => id.split('-')[2]));
    expect(tags.size).toBe(1);
    expect([...tags][0]).toMatch(/^[0-9a-f]{8}$/);
    for (const id of ids.slice(0, 10)) expect(parseEventCursor(id)).toBe(id);
  });

  it('of two logs in one process (two coordinators) carry each its own tag and sequence', async () => {
    const store = createMemoryStore();
    const [one, two] = [createEventLog(store), createEventLog(store)];
    const [a, b] = [one.newId(T), two.newId(T)];
    expect(a.split('-')[1]).toBe(b.split('-')[1]);
    expect(a.split('-')[2]).not.toBe(b.split('-')[2]);
    await one.record({ type: 'pipeline', pipeline: 'web', versionId: 'v1' }, T);
    const [stored] = await store.listEvents({ limit: 10 });
    expect(stored?._id.split('-')[2]).toBe(a.split('-')[2]);
  });
});

describe('events.tail (server-side caller, memory store)', () => {
  it('reports an event a lagging coordinator wrote below the cursor, late but once', async () => {
    const store = createMemoryStore();
    const abort = new AbortController();
    const caller = callerOn(store, abort.signal);
    // Events from a minute ago on are already there; the feed starts after the first.
    const first = pipelineEvent(T, 'v1');
    await store.appendEvents([first, pipelineEvent(T + 1_000, 'v2')]);
    const feed = (await caller.events.tail({ after: first._id, intervalMs: 100 }))[Symbol.asyncIterator]();
    const next = async () => {
      const result = await feed.next();
      if (result.done) throw new Error('the feed ended');
      // On the server, a tracked message is the envelope `[id, data]`.
      const [id, data] = result.value as unknown as [string, { id: string; versionId: string }];
      expect(id).toBe(data.id);
      return data.versionId;
    };
    expect(await next()).toBe('v2');
    // Another coordinator, its clock behind, writes an event whose id sorts below v2's (but after
    // the cursor the feed started from: below that, the client had seen everything).
    const late = pipelineEvent(T + 500, 'late');
    await store.appendEvents([late]);
    await store.appendEvents([pipelineEvent(T + 2_000, 'v3')]);
    store.notify('events');
    const rest = [await next(), await next()];
    expect(rest.sort()).toEqual(['late', 'v3']);
    // Nothing is reported twice: the next one is the next new event.
    await store.appendEvents([pipelineEvent(T + 3_000, 'v4')]);
    store.notify('events');
    expect(await next()).toBe('v4');
    abort.abort();
    await feed.return?.();
  });
});
