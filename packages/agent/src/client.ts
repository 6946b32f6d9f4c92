import type { AppRouter } from '@hiveforge/coordinator';
import type { TRPCClient } from '@trpc/client';
import { createApiCall, createApiClient } from './api-call.js';
import { type Endpoints, createEndpoints } from './endpoints.js';
import { type JsonFetch, createJsonFetch } from './http-fetch.js';

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
  sharedFetch ??= createJsonFetch();
  return createApiClient(
    createApiCall({
      endpoints,
      fetch: sharedFetch,
      headers: (): Record<string, string> => {
        const token = options.token?.();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
    }),
  );
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
