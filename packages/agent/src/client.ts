import type { AppRouter } from '@hiveforge/coordinator';
import { type TRPCClient, createTRPCClient, httpLink } from '@trpc/client';
import { type Endpoints, createEndpoints } from './endpoints.js';
import { type JsonFetch, type JsonRequestInit, createJsonFetch } from './http-fetch.js';

let sharedFetch: JsonFetch | undefined;

/** The typed tRPC client of the coordinator API. */
export type CoordinatorClient = TRPCClient<AppRouter>;

/**
 * Creates an unbatched client: an agent's long-polling pull must not hold back its heartbeats.
 * @example const client = createAgentClient({ url: 'http://127.0.0.1:7700', token });
 */
export function createAgentClient(options: {
  url: string | Endpoints;
  token?: () => string | undefined;
}): CoordinatorClient {
  const endpoints = typeof options.url === 'string' ? createEndpoints([options.url]) : options.url;
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        // The path is kept; the coordinator is whichever of the endpoints answers.
        url: 'http://coordinator/trpc',
        fetch: (input, init) => {
          const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
          sharedFetch ??= createJsonFetch();
          return endpoints.fetch(`${url.pathname}${url.search}`, init as JsonRequestInit, sharedFetch);
        },
        headers: () => {
          const token = options.token?.();
          return token ? { authorization: `Bearer ${token}` } : {};
        },
      }),
    ],
  });
}

/** The HiveForge error code a tRPC client error carries, if any. */
export function errorCodeOf(error: unknown): string | null {
  const data = (error as { data?: { hiveforgeCode?: unknown } } | null)?.data;
  return typeof data?.hiveforgeCode === 'string' ? data.hiveforgeCode : null;
}

/** True when a call failed before the coordinator could answer: worth retrying. */
export function isTransportError(error: unknown): boolean {
  const e = error as { data?: { httpStatus?: number }; cause?: unknown; message?: string } | null;
  if (!e) return false;
  const status = e.data?.httpStatus;
  if (status === undefined) return true;
  return status === 502 || status === 503 || status === 504;
}
