import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { AppRouter } from '@hiveforge/coordinator';
import { type TRPCClient, TRPCClientError } from '@trpc/client';
import type { Endpoints } from './endpoints.js';
import type { JsonFetch, JsonResponse } from './http-fetch.js';

/** Options of {@link createApiCall}. */
export interface ApiCallOptions {
  endpoints: Endpoints;
  /** The fetch the calls go through. */
  fetch: JsonFetch;
  /** Headers of every call (the agent's token). */
  headers: () => Record<string, string>;
  /**
   * How long a call may take before it fails as timed out (a retryable error). A pull, and a
   * completion that pulls the next job, get their wait on top.
   * @default DEFAULT_CALL_TIMEOUT_MS (30 s)
   */
  timeoutMs?: number;
}

/** How long an agent call may take, beyond a pull's wait, by default. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

/** The longest wait a pull may ask for (the API's limit): a pull without `waitMs` may wait this long. */
export const MAX_PULL_WAIT_MS = 60_000;

/** How long a pull of `waitMs` (none: the coordinator's own) may wait for work. */
const waitOf = (waitMs: unknown) => (typeof waitMs === 'number' && waitMs >= 0 ? waitMs : MAX_PULL_WAIT_MS);

/** The deadline of one call: the timeout, plus the wait of a call that long-polls for work. */
function timeoutOf(path: string, input: unknown, timeoutMs: number): number {
  if (path === 'agent.pull') return timeoutMs + waitOf((input as { waitMs?: unknown } | null)?.waitMs);
  if (path === 'agent.complete') {
    const next = (input as { next?: { waitMs?: unknown } | null } | null)?.next;
    if (next != null) return timeoutMs + waitOf(next.waitMs);
  }
  return timeoutMs;
}

/** The body of a pull sent first as `resend: false`, marked as a resend; undefined for other calls. */
function resentPull(path: string, input: unknown): string | undefined {
  if (path !== 'agent.pull' || (input as { resend?: unknown } | null)?.resend !== false) return undefined;
  return JSON.stringify({ ...(input as object), resend: true });
}

/** Log batches larger than this go gzip-compressed (`content-encoding: gzip`). */
export const COMPRESS_LOGS_FROM_BYTES = 4_096;

const gzipAsync = promisify(gzip);

/** A reply of the API in tRPC's wire format, unbatched. */
type Reply = { result: { data?: unknown } } | { error: { message: string; code: number; data?: unknown } };

/** A call of the API: `query` or `mutation`, the procedure's path, its input. */
export type ApiCall = (
  type: 'query' | 'mutation',
  path: string,
  input: unknown,
  signal?: AbortSignal,
) => Promise<unknown>;

/**
 * The agent client's transport: each call is one request in tRPC's HTTP wire format (a query as
 * `GET …?input=`, a mutation as a JSON `POST`), as tRPC's `httpLink` sends it, to whichever of
 * the endpoints answers. It leaves out what an agent never uses (batching, transformers, binary
 * and form inputs, links and their observables, per-call header and URL options), which on a busy
 * agent host was most of the client's cost per call. Errors are `TRPCClientError`s like
 * `httpLink`'s: an error reply carries the server's error shape (`data.code`, `data.httpStatus`,
 * `data.hiveforgeCode`), a transport failure has no `data`.
 */
export function createApiCall(options: ApiCallOptions): ApiCall {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  return async (type, path, input, signal) => {
    const json = input === undefined ? undefined : JSON.stringify(input);
    const target =
      type === 'query' && json !== undefined ? `/trpc/${path}?input=${encodeURIComponent(json)}` : `/trpc/${path}`;
    const headers: Record<string, string> = { ...options.headers() };
    if (type !== 'query') headers['content-type'] = 'application/json';
    // Log batches are most of what an agent sends, and text compresses well.
    const compress = path === 'agent.logs' && json !== undefined && json.length >= COMPRESS_LOGS_FROM_BYTES;
    if (compress) headers['content-encoding'] = 'gzip';
    let reply: Reply;
    let response: JsonResponse;
    try {
      const body = type === 'query' ? undefined : compress ? await gzipAsync(json as string) : json;
      const init = {
        method: type === 'query' ? 'GET' : 'POST',
        headers,
        body,
        signal,
        timeoutMs: timeoutOf(path, input, timeoutMs),
      };
      // A pull's first sending says so (the coordinator then looks up no earlier lease of its
      // request id), but once one coordinator had it, it may have leased a job to it before it
      // failed: the next coordinator gets it as a resend, and hands that lease over.
      const again = resentPull(path, input);
      response = await options.endpoints.fetch(
        target,
        again === undefined ? init : (tried: number) => (tried === 0 ? init : { ...init, body: again }),
        options.fetch,
      );
    } catch (cause) {
      throw TRPCClientError.from(cause instanceof Error ? cause : new Error(String(cause)));
    }
    try {
      reply = (await response.json()) as Reply;
    } catch {
      // Not the API's answer (a proxy's error page): its status is all there is to go by.
      const message = `the coordinator answered ${response.status} without an API reply`;
      throw TRPCClientError.from({ error: { message, code: -32603, data: { httpStatus: response.status } } });
    }
    if ('error' in reply) throw TRPCClientError.from(reply, { meta: { response } });
    return reply.result.data;
  };
}

/**
 * A client typed by `AppRouter` (`client.agent.pull.mutate(input, { signal })`,
 * `client.agent.bundle.query(input)`) whose calls go straight to `call`: the same surface as
 * `createTRPCClient`'s for queries and mutations, without its per-call observable and abort
 * controller. Subscriptions are not offered (agents use none).
 */
export function createApiClient(call: ApiCall): TRPCClient<AppRouter> {
  const at = (path: readonly string[]): unknown =>
    new Proxy(() => {}, {
      get: (_, key) => (typeof key === 'string' && key !== 'then' ? at([...path, key]) : undefined),
      apply: (_, __, args: [unknown?, { signal?: AbortSignal }?]) => {
        const method = path[path.length - 1];
        const procedure = path.slice(0, -1).join('.');
        if (method === 'mutate') return call('mutation', procedure, args[0], args[1]?.signal);
        if (method === 'query') return call('query', procedure, args[0], args[1]?.signal);
        throw new TypeError(`${path.join('.')} is not a query or mutation this client can make`);
      },
    });
  return at([]) as TRPCClient<AppRouter>;
}
