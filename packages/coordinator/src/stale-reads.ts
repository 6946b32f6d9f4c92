import { ErrorCodes, isHiveForgeError } from '@hiveforge/sdk';
import type { Clock } from './clock.js';
import type { ReadCache } from './read-cache.js';
import { type StoreHealth, isStoreOut, storeOutError, whileStoreAnswers } from './store-health.js';

/** Why a read was answered from what the coordinator last saw. */
export const STALE_REASON = 'store unavailable';

/**
 * The mark of a read answered from what this coordinator last saw, because the store is out:
 * present only then (see docs/operations.md, "Store outages").
 */
export interface StaleMarker {
  /** Since when the store is out (epoch ms). */
  since: number;
  /** When this coordinator last saw what it answered (epoch ms). */
  seenAt: number;
  reason: typeof STALE_REASON;
}

/**
 * A read's answer that may be stale: an object gets `stale`; an array (the list reads) gets it on
 * each of its items, so that its shape stays an array.
 */
export type MaybeStale<T> = T extends readonly (infer I)[]
  ? (I & { stale?: StaleMarker })[]
  : T & { stale?: StaleMarker };

/** What stale reads need of a request's context. */
export interface StaleReadsContext {
  clock: Clock;
  /** Whether the store answers. Without it, reads wait for the store and nothing stale is served. */
  storeHealth?: StoreHealth;
  /** What this coordinator last saw. Without it, reads are never answered stale. */
  readCache?: ReadCache;
}

const isNotFound = (error: unknown) => isHiveForgeError(error) && error.code === ErrorCodes.notFound;

/**
 * Waits while the store is out: at least a quarter second (so that a read failing again at once
 * does not spin), then until the store answers again, `ms` have passed or `signal` aborts.
 */
export async function waitForStore(ctx: StaleReadsContext, ms: number, signal?: AbortSignal): Promise<void> {
  const until = ctx.clock.now() + ms;
  do {
    await ctx.clock.sleep(Math.min(250, Math.max(0, until - ctx.clock.now())), signal);
  } while (ctx.storeHealth?.out && ctx.clock.now() < until && !signal?.aborted);
}

/** Marks `value` as seen at `seenAt` while the store is out since `since`. */
export function markStale<T>(value: T, marker: StaleMarker): MaybeStale<T> {
  if (Array.isArray(value)) return value.map((item) => ({ ...item, stale: marker })) as MaybeStale<T>;
  return { ...(value as object), stale: marker } as MaybeStale<T>;
}

/** The stale marker of an entry seen at `seenAt`, the store being out since `health.outSince` (or now). */
export function staleMarker(ctx: StaleReadsContext, seenAt: number): StaleMarker {
  return { since: ctx.storeHealth?.outSince ?? ctx.clock.now(), seenAt, reason: STALE_REASON };
}

/**
 * What the cache holds under `key`, marked stale, when `error` says the store is out; otherwise
 * `error` is thrown again. An outage with nothing kept under `key` (or an empty list kept: it
 * would claim there is nothing) is the typed 503 `HF_STORE_UNAVAILABLE`.
 */
export function staleOrThrow<T>(ctx: StaleReadsContext, key: string, error: unknown): MaybeStale<T> {
  if (!isStoreOut(error)) throw error;
  const kept = ctx.readCache?.get<T>(key);
  if (!kept || (Array.isArray(kept.value) && kept.value.length === 0)) throw storeOutError();
  return markStale(kept.value, staleMarker(ctx, kept.seenAt));
}

/**
 * Reads through the cache: while the store answers, `live` is the answer and is kept under `key`
 * (never the cache: no staleness in normal operation); while it is out, or when `live` fails
 * because it is, the answer is what was kept, marked `stale` (see {@link staleOrThrow}). `live`
 * fails at once when the store is known to be out (see `whileStoreAnswers`).
 * @example
 * list: cachedReadProcedure('viewer').query(({ ctx }) =>
 *   readThrough(ctx, 'pipelines', () => ctx.store.listPipelines()));
 */
export async function readThrough<T>(
  ctx: StaleReadsContext,
  key: string,
  live: () => Promise<T>,
): Promise<MaybeStale<T>> {
  let value: T;
  try {
    value = await whileStoreAnswers(ctx.storeHealth, live);
  } catch (error) {
    if (isNotFound(error)) ctx.readCache?.delete(key);
    return staleOrThrow<T>(ctx, key, error);
  }
  ctx.readCache?.put(key, value);
  return value as MaybeStale<T>;
}
