import type { AppRouter } from '@hiveforge/coordinator';
import type { TRPCClient } from '@trpc/client';
import { createApiCall, createApiClient } from './api-call.js';
import { type Endpoints, createEndpoints } from './endpoints.js';
import { type JsonFetch, createJsonFetch } from './http-fetch.js';

/** The typed tRPC client of the coordinator API. */
export type CoordinatorClient = TRPCClient<AppRouter>;

/**
 * Creates an unbatched client: an agent's long-polling pull must not hold back its heartbeats.
 * Every call has a deadline (`timeoutMs`, plus the wait of a pull); a call past it fails as a
 * retryable timeout (see `isRetryable`).
 * @example const client = createAgentClient({ url: 'http://127.0.0.1:7700', token });
 */
export function createAgentClient(options: {
  url: string | Endpoints;
  token?: () => string | undefined;
  /** How long a call may take before it fails as timed out. @default DEFAULT_CALL_TIMEOUT_MS (30 s) */
  timeoutMs?: number;
  /**
   * The HTTP transport its calls go through; clients given the same one share its keep-alive
   * connections. @default a new `createJsonFetch()` of this client's own
   */
  fetch?: JsonFetch;
}): CoordinatorClient {
  const endpoints = typeof options.url === 'string' ? createEndpoints([options.url]) : options.url;
  return createApiClient(
    createApiCall({
      endpoints,
      fetch: options.fetch ?? createJsonFetch(),
      timeoutMs: options.timeoutMs,
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
