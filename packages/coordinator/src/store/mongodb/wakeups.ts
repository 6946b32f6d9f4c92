/**
 * Wake-ups: delivered locally at once and, for other processes, through one document per topic
 * in `wakeups`, which every store watches with a change stream where the server has them (a
 * replica set; see `wakeup-stream.ts`) and otherwise polls every `pollInterval` ms while it has
 * subscribers (FerretDB, or after the stream failed).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ChangeStream, Db } from 'mongodb';
import type { Clock } from '../../clock.js';
import type { WakeupMode, WakeupStore } from '../types.js';
import type { Background } from './background.js';
import { isDuplicateKey } from './duplicates.js';
import { Collections, WAKEUP_RETENTION_MS } from './schema.js';
import { type WakeupDoc, changeStreamsWork, watchWakeups } from './wakeup-stream.js';

/** The least time between two writes of one topic's wake-up by one store. */
const WAKEUP_MIN_SPACING_MS = 50;
/** The most a notification's `within` spaces the writes of its topic. */
const WAKEUP_MAX_SPACING_MS = 5_000;
/** How often one poller deletes old topics (servers without TTL indexes need it). */
const WAKEUP_PRUNE_INTERVAL_MS = 10_000;
/**
 * A topic a poller reads for the first time wakes its subscribers when another process notified
 * it this recently (by that process's clock), so that a wake-up sent just before a subscription
 * is not missed. It tolerates write latency and clock skew between coordinators.
 */
const WAKEUP_OVERLAP_MS = 2_000;

/** Options of `createMongoWakeups`. */
export interface MongoWakeupsOptions {
  db: Db;
  background: Background;
  /** True once the store is closed. */
  isClosed: () => boolean;
  /** How often to poll, in ms. */
  pollInterval: number;
  /** Whether to use a change stream where the server has them. */
  changeStreams: boolean;
  /** The time of stamps and of the pacing of writes and prunes. */
  clock: Clock;
}

/** The wake-up methods of the store, and `close`, which stops its poller or stream. */
export type MongoWakeups = WakeupStore & { close(): Promise<void> };

/** Creates the store's wake-ups; probes the server for change streams. */
export async function createMongoWakeups(options: MongoWakeupsOptions): Promise<MongoWakeups> {
  const { db, background, isClosed, pollInterval, clock } = options;
  const { track } = background;
  // Wake-ups are hints: a local read and a w:1 write are enough, and faster.
  const wakeups = db.collection<WakeupDoc>(Collections.wakeups, {
    readConcern: { level: 'local' },
    writeConcern: { w: 1 },
  });
  // Change streams on `wakeups` read with the database's majority read concern, which every
  // server version with change streams accepts for them (stamps are written with w:1, and are
  // seen once they are majority-committed: a few milliseconds on a healthy replica set).
  const wakeupChanges = db.collection<WakeupDoc>(Collections.wakeups);
  /** How other processes' wake-ups arrive: decided once here, and by a stream that fails later. */
  let wakeupMode: WakeupMode =
    options.changeStreams && (await changeStreamsWork(wakeupChanges)) ? 'change-stream' : 'polling';

  const instanceId = randomUUID();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const pendingTopics = new Set<string>();

  /** This instance's wake-up stamps: its clock, made strictly increasing. */
  let lastStamp = 0;
  const nextStamp = () => {
    lastStamp = Math.max(lastStamp + 1, clock.now());
    return lastStamp;
  };

  /** Stamps a topic's document with this instance's next stamp; concurrent first upserts can race. */
  const stampTopic = async (topic: string, at: Date, stamp: number) => {
    const update = { $set: { at, [`by.${instanceId}`]: stamp } };
    try {
      await wakeups.updateOne({ _id: topic }, update, { upsert: true });
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      await wakeups.updateOne({ _id: topic }, update, { upsert: true });
    }
  };

  /**
   * Topics whose stamp is being written, and whether they were notified again meanwhile: a
   * topic has at most one write under way, followed by at most one more, however often it is
   * notified (a busy run notifies its topic for every lease, start, log batch and completion).
   * Notified again during a write, the next write waits until `WAKEUP_MIN_SPACING_MS` have
   * passed. A topic whose last notification allowed more (`within`) is written at most once per
   * `within`: after each write it stays here that long, and what is notified meanwhile is
   * written at its end.
   */
  const stamping = new Map<string, boolean>();
  /** The `within` of each topic's last notification, where it allows more than the least spacing. */
  const spacing = new Map<string, number>();
  /** Pauses between the writes of a topic under way; `close` ends them. */
  const pauses = new Set<() => void>();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pauses.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      pauses.add(done);
    });
  const stampSoon = (topic: string) => {
    if (stamping.has(topic)) {
      stamping.set(topic, true);
      return;
    }
    stamping.set(topic, false);
    const write = async () => {
      try {
        do {
          stamping.set(topic, false);
          const started = clock.now();
          await stampTopic(topic, new Date(started), nextStamp());
          // Pollers look every `pollInterval`: stamping a topic more often wakes nobody sooner.
          const within = spacing.get(topic);
          const wait = (within ?? WAKEUP_MIN_SPACING_MS) - (clock.now() - started);
          if ((within !== undefined || stamping.get(topic)) && !isClosed() && wait > 0) await pause(wait);
        } while (stamping.get(topic) && !isClosed());
      } finally {
        stamping.delete(topic);
        spacing.delete(topic);
      }
    };
    // A lost wake-up costs latency, never correctness: waiters look again on their own.
    track(write());
  };

  /** Writes the topics notified since the last flush. */
  const flushWakeups = () => {
    for (const topic of pendingTopics) stampSoon(topic);
    pendingTopics.clear();
  };

  /** Wakes a topic's subscribers; a throwing listener stops neither the others nor the caller. */
  const wake = (topic: string) => {
    try {
      events.emit(topic);
    } catch {
      // A throwing listener must not stop the others, the poller or the stream.
    }
  };

  let pollTimer: NodeJS.Timeout | null = null;
  let polling: Promise<void> | null = null;
  let pollerStarted = false;
  let lastPrune = 0;
  /** Per topic polled: the stamps of the other instances seen last, and when it was last polled. */
  const seen = new Map<string, { stamps: Map<string, number>; polledAt: number }>();

  const pollOnce = async () => {
    const started = clock.now();
    if (started - lastPrune >= WAKEUP_PRUNE_INTERVAL_MS) {
      lastPrune = started;
      track(wakeups.deleteMany({ at: { $lt: new Date(started - WAKEUP_RETENTION_MS) } }));
      for (const [topic, { polledAt }] of seen) if (started - polledAt > WAKEUP_RETENTION_MS) seen.delete(topic);
    }
    const topics = events.eventNames().filter((name): name is string => typeof name === 'string');
    if (topics.length === 0) return;
    // One read by `_id` per subscribed topic: cheap on every server.
    const docs = await Promise.all(topics.map((topic) => wakeups.findOne({ _id: topic })));
    const woken: string[] = [];
    topics.forEach((topic, i) => {
      let known = seen.get(topic);
      if (!known) {
        known = { stamps: new Map(), polledAt: started };
        seen.set(topic, known);
      }
      known.polledAt = started;
      let stamped = false;
      for (const [origin, stamp] of Object.entries(docs[i]?.by ?? {})) {
        if (origin === instanceId || typeof stamp !== 'number') continue;
        const last = known.stamps.get(origin);
        // A stamp not seen before counts when it is recent: it was notified just before this
        // topic was first polled.
        if (last === undefined ? stamp >= started - WAKEUP_OVERLAP_MS : stamp > last) stamped = true;
        known.stamps.set(origin, stamp);
      }
      if (stamped) woken.push(topic);
    });
    for (const topic of woken) wake(topic);
  };

  const schedulePoll = () => {
    if (isClosed()) return;
    pollTimer = setTimeout(() => {
      polling = pollOnce()
        .catch(() => undefined)
        .finally(() => {
          polling = null;
          schedulePoll();
        });
    }, pollInterval);
    pollTimer.unref();
  };

  const startPoller = () => {
    if (pollerStarted || isClosed()) return;
    pollerStarted = true;
    schedulePoll();
  };

  let stream: ChangeStream<WakeupDoc> | null = null;
  /** Falls back to polling for good: the stream failed (or the server stopped supporting it). */
  const fallBackToPolling = () => {
    wakeupMode = 'polling';
    const failed = stream;
    stream = null;
    if (failed) track(failed.close());
    // A first poll wakes the topics notified in the last seconds, so the switch loses nothing.
    startPoller();
  };

  /** Starts delivering other processes' wake-ups: by change stream where it works, else polling. */
  const startWakeups = () => {
    if (isClosed() || stream || pollerStarted) return;
    if (wakeupMode === 'polling') return startPoller();
    try {
      stream = watchWakeups({
        collection: wakeupChanges,
        instanceId,
        isSubscribed: (topic) => events.listenerCount(topic) > 0,
        wake,
        lost: (opened) => {
          if (!isClosed() && stream === opened) fallBackToPolling();
        },
      });
    } catch {
      return fallBackToPolling();
    }
  };

  return {
    wakeupMode(): WakeupMode {
      return wakeupMode;
    },
    notify(topic, notifyOptions) {
      if (!isClosed()) {
        // Coalesce the notifications of one synchronous burst into one write.
        if (pendingTopics.size === 0) queueMicrotask(flushWakeups);
        pendingTopics.add(topic);
        const within = notifyOptions?.within ?? 0;
        if (within > WAKEUP_MIN_SPACING_MS) spacing.set(topic, Math.min(within, WAKEUP_MAX_SPACING_MS));
        else spacing.delete(topic);
      }
      events.emit(topic);
    },
    subscribe(topic, listener) {
      events.on(topic, listener);
      startWakeups();
      return () => {
        events.off(topic, listener);
      };
    },
    /** Call once the store is closed: flushes the notified topics and stops polling. */
    async close() {
      if (pollTimer) clearTimeout(pollTimer);
      if (stream) track(stream.close());
      flushWakeups();
      for (const done of [...pauses]) done();
      await polling;
      await background.settled();
      events.removeAllListeners();
    },
  };
}
