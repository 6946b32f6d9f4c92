import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { AppRouter } from '@hiveforge/coordinator';
import { TRPCClientError, type TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import type { Endpoints } from './endpoints.js';
import type { JsonFetch } from './http-fetch.js';

/** Options of {@link apiLink}. */
export interface ApiLinkOptions {
  endpoints: Endpoints;
  /** The fetch the calls go through. */
  fetch: JsonFetch;
  /** Headers of every call (the agent's token). */
  headers: () => Record<string, string>;
}

/** Log batches larger than this go gzip-compressed (`content-encoding: gzip`). */
export const COMPRESS_LOGS_FROM_BYTES = 4_096;

const gzipAsync = promisify(gzip);

/** A reply of the API in tRPC's wire format, unbatched. */
type Reply = { result: { data?: unknown } } | { error: { message: string; code: number; data?: unknown } };

/**
 * The agent client's terminating link: each call is one request in tRPC's HTTP wire format (a
 * query as `GET …?input=`, a mutation as a JSON `POST`), as `httpLink` sends it, to whichever of
 * the endpoints answers. It leaves out what an agent never uses (batching, transformers, binary
 * and form inputs, per-call header and URL options), which on a busy agent host is most of
 * `httpLink`'s cost per call. Errors are `TRPCClientError`s like `httpLink`'s: an error reply
 * carries the server's error shape (`data.code`, `data.httpStatus`, `data.hiveforgeCode`), a
 * transport failure has no `data`.
 */
export function apiLink(options: ApiLinkOptions): TRPCLink<AppRouter> {
  return () =>
    ({ op }) =>
      observable((observer) => {
        const { path, input, type } = op;
        const json = input === undefined ? undefined : JSON.stringify(input);
        const target =
          type === 'query' && json !== undefined ? `/trpc/${path}?input=${encodeURIComponent(json)}` : `/trpc/${path}`;
        const headers: Record<string, string> = { ...options.headers() };
        if (type !== 'query') headers['content-type'] = 'application/json';
        // Log batches are most of what an agent sends, and text compresses well.
        const compress = path === 'agent.logs' && json !== undefined && json.length >= COMPRESS_LOGS_FROM_BYTES;
        if (compress) headers['content-encoding'] = 'gzip';
        (async () => {
          const body = type === 'query' ? undefined : compress ? await gzipAsync(json as string) : json;
          return options.endpoints.fetch(
            target,
            { method: type === 'query' ? 'GET' : 'POST', headers, body, signal: op.signal },
            options.fetch,
          );
        })()
          .then(async (response) => {
            const reply = (await response.json()) as Reply;
            if ('error' in reply) {
              observer.error(TRPCClientError.from(reply, { meta: { response } }));
              return;
            }
            observer.next({ result: { type: 'data', data: reply.result.data } });
            observer.complete();
          })
          .catch((cause: unknown) =>
            observer.error(TRPCClientError.from(cause instanceof Error ? cause : new Error(String(cause)))),
          );
      });
}
