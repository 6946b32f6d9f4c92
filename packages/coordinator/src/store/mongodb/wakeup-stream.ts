/**
 * Wake-ups by change stream, where the server has them (a replica set): every store watches the
 * `wakeups` collection and wakes the subscribers of a topic another store stamped. FerretDB and
 * a standalone server have no change streams: there the store polls (see `wakeups.ts`).
 */
import type { ChangeStream, ChangeStreamDocument, Collection } from 'mongodb';

/**
 * One document per wake-up topic. `by` holds, per store instance that notified the topic, a
 * number that grows with each of its notifications (its clock, made strictly increasing).
 */
export interface WakeupDoc {
  _id: string;
  /** When the topic was last notified, for pruning. */
  at: Date;
  by: Record<string, number>;
}

/**
 * True when the server opens a change stream on `collection` (a replica set does; FerretDB and a
 * standalone server answer with an error). The probe's stream is closed again.
 */
export async function changeStreamsWork(collection: Collection<WakeupDoc>): Promise<boolean> {
  let stream: ChangeStream<WakeupDoc> | null = null;
  try {
    stream = collection.watch([], { maxAwaitTimeMS: 100 });
    // The first call runs the `aggregate` with `$changeStream`: where it is not supported, it throws.
    await stream.tryNext();
    return true;
  } catch {
    return false;
  } finally {
    await stream?.close().catch(() => undefined);
  }
}

/** The store instances whose stamps a change of a `wakeups` document wrote. */
function stampersOf(change: ChangeStreamDocument<WakeupDoc>): string[] {
  if (change.operationType === 'insert' || change.operationType === 'replace') {
    return Object.keys(change.fullDocument?.by ?? {});
  }
  if (change.operationType !== 'update') return [];
  const origins: string[] = [];
  for (const [field, value] of Object.entries(change.updateDescription?.updatedFields ?? {})) {
    if (field.startsWith('by.')) origins.push(field.slice(3));
    else if (field === 'by' && value && typeof value === 'object') origins.push(...Object.keys(value));
  }
  return origins;
}

/** Options of `watchWakeups`. */
export interface WatchWakeupsOptions {
  /** The `wakeups` collection, read with majority read concern. */
  collection: Collection<WakeupDoc>;
  /** This store instance: its own stamps wake nobody (it delivered them locally). */
  instanceId: string;
  /** Whether a topic has subscribers here. */
  isSubscribed(topic: string): boolean;
  /** Wakes a topic's subscribers. */
  wake(topic: string): void;
  /** Called once when the stream fails or ends. */
  lost(stream: ChangeStream<WakeupDoc>): void;
}

/**
 * Opens the change stream on `wakeups` that wakes the subscribers of topics other instances
 * stamped. Throws when the stream cannot be opened.
 */
export function watchWakeups(options: WatchWakeupsOptions): ChangeStream<WakeupDoc> {
  const { collection, instanceId, isSubscribed, wake, lost } = options;
  const stream = collection.watch([{ $match: { operationType: { $in: ['insert', 'update', 'replace'] } } }]);
  stream.on('change', (change: ChangeStreamDocument<WakeupDoc>) => {
    if (!('documentKey' in change)) return;
    const topic = (change.documentKey as { _id?: unknown })._id;
    if (typeof topic !== 'string' || !isSubscribed(topic)) return;
    if (stampersOf(change).some((origin) => origin !== instanceId)) wake(topic);
  });
  // The driver resumes a stream by itself after resumable errors; one it reports is fatal. A
  // stream that ends without one (its collection was dropped: an `invalidate`) is over too.
  stream.on('error', () => lost(stream));
  stream.on('close', () => lost(stream));
  return stream;
}
