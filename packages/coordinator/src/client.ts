/**
 * The typed client of the HiveForge API, for custom UIs, bots and scripts.
 *
 * @example
 * ```ts
 * import { createHiveForgeClient } from '@hiveforge/coordinator/client';
 *
 * const hf = createHiveForgeClient({ url: 'http://127.0.0.1:7700', token: process.env.HIVEFORGE_TOKEN! });
 * const runs = await hf.runs.list.query({ pipeline: 'web', limit: 10 });
 * ```
 *
 * @module
 */
import { type TRPCClient, createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { EventSourceLike } from '@trpc/server/unstable-core-do-not-import';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from './routers/app.js';

/** A typed client of one coordinator (or a load balancer in front of several). */
export type HiveForgeClient = TRPCClient<AppRouter>;

/** Options of {@link createHiveForgeClient}. */
export interface HiveForgeClientOptions {
  /** The coordinator's base URL, e.g. `http://127.0.0.1:7700`. */
  url: string;
  /** A user API token (`hfu_…`). */
  token: string;
  /**
   * The `EventSource` class for subscriptions (`runs.tail`), where the runtime has none (Node.js
   * 20: pass the one of the `eventsource` package). @default globalThis.EventSource
   */
  EventSource?: EventSourceLike.AnyConstructor;
  /** A `fetch` to use instead of the global one. */
  fetch?: typeof fetch;
}

/**
 * Creates a typed client. Requests are not batched, so a long-polling `runs.watch` never holds
 * back another call.
 */
export function createHiveForgeClient(options: HiveForgeClientOptions): HiveForgeClient {
  const url = `${options.url.replace(/\/+$/, '')}/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url,
          connectionParams: { token: options.token },
          ...(options.EventSource ? { EventSource: options.EventSource } : {}),
        }),
        false: httpLink({
          url,
          headers: { authorization: `Bearer ${options.token}` },
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
      }),
    ],
  });
}

/** The HiveForge error code (`HF_…`) a failed call carries, if any. */
export function hiveforgeErrorCode(error: unknown): string | null {
  const data = (error as { data?: { hiveforgeCode?: unknown } } | null)?.data;
  return typeof data?.hiveforgeCode === 'string' ? data.hiveforgeCode : null;
}

/** One chunk of a job's log, as `runs.logs` returns it. */
export type LogChunk = inferRouterOutputs<AppRouter>['runs']['logs']['chunks'][number];

/**
 * Reads a job's log (or one attempt's) page by page, as `runs.logs` serves it, yielding each
 * page's chunks: a log of any size is read a page (at most `maxBytes`, default 1 MiB) at a time.
 * Ends once the job has ended and its log is read, or, for a job still running, when the pages
 * have caught up with what it has shipped so far.
 * @example
 * for await (const chunks of readJobLog(hf, { runId: 'web/42', job: 'build' }))
 *   for (const chunk of chunks) process.stdout.write(chunk.text);
 */
export async function* readJobLog(
  client: HiveForgeClient,
  input: { runId: string; job: string; attempt?: number; maxBytes?: number },
  signal?: AbortSignal,
): AsyncGenerator<LogChunk[]> {
  let cursor: string | undefined;
  for (;;) {
    const page = await client.runs.logs.query({ ...input, cursor }, { signal });
    if (page.chunks.length > 0) yield page.chunks;
    if (page.complete || page.chunks.length === 0) return;
    cursor = page.next ?? undefined;
  }
}
