import { ErrorCodes, isHiveForgeError } from '@hiveforge/sdk';

/**
 * How long the agent keeps retrying one call of a job (start, logs, artifacts, outputs,
 * completion) that fails for a transient reason, from its first failure: a store or coordinator
 * outage shorter than this does not fail a job.
 */
export const DEFAULT_RETRY_FOR_MS = 120_000;

/** HTTP statuses of a coordinator (or a proxy before it) that cannot answer now. */
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 502, 503, 504]);

/** HiveForge codes that mean "not now" whatever the status says. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set([ErrorCodes.storeUnavailable, ErrorCodes.coordinatorUnavailable]);

/** Socket and DNS failures: the request never got an answer. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  data?: { httpStatus?: unknown; hiveforgeCode?: unknown; retryable?: unknown } | null;
}

/** True when the error, or one of its causes, is a failure to get any answer (not an abort asked for). */
function isNoAnswer(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 5) return false;
  const e = error as ErrorLike;
  if (e.name === 'AbortError') return false;
  if (e.name === 'TimeoutError') return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && /socket hang up|other side closed/i.test(e.message)) return true;
  return isNoAnswer(e.cause, depth + 1);
}

/**
 * Whether an agent call that failed with `error` is worth sending again: the one place this is
 * decided.
 *
 * Retryable: no answer at all (connection refused or reset, a timeout, a cut connection), a
 * 408/429/502/503/504 without a HiveForge code (a proxy, a coordinator going away), and any
 * answer whose HiveForge code says so (`HF_STORE_UNAVAILABLE`, or the `retryable` flag the
 * coordinator sends). Permanent: every other typed HiveForge error (not found, bad input,
 * forbidden, fenced...), whatever its status, and an abort the caller asked for.
 */
export function isRetryable(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  // Errors raised here (the artifact client's) say it themselves.
  if (isHiveForgeError(error)) return error.retryable || RETRYABLE_CODES.has(error.code);
  const data = (error as ErrorLike).data;
  if (data && typeof data === 'object') {
    if (typeof data.hiveforgeCode === 'string')
      return data.retryable === true || RETRYABLE_CODES.has(data.hiveforgeCode);
    return typeof data.httpStatus === 'number' && RETRYABLE_STATUS.has(data.httpStatus);
  }
  return isNoAnswer(error);
}

/** Options of {@link withRetry}. */
export interface RetryOptions {
  /** How long to keep trying from the first failure. @default DEFAULT_RETRY_FOR_MS (120 s) */
  forMs?: number;
  /** The delay after the first failure; each next one doubles. @default 100 */
  initialDelayMs?: number;
  /** The longest delay between two tries. @default 5000 */
  maxDelayMs?: number;
  /** Stops retrying (the last error is thrown). */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log that the coordinator cannot answer. */
  onRetry?: (error: unknown, delayMs: number) => void;
}

/**
 * The wait before try `attempt + 1` (0-based): exponential, capped, with "equal jitter" (half
 * fixed, half random), so that agents that lost the coordinator at the same moment do not all
 * come back at the same moment.
 */
export function retryDelayMs(attempt: number, initialDelayMs = 100, maxDelayMs = 5_000, random = Math.random): number {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Calls `call`, and again with exponential backoff and jitter while it fails with a retryable
 * error (`isRetryable`), for up to `forMs` from the first failure; a permanent error is thrown at
 * once, as is the last error once the time is up or `signal` aborts.
 * @example
 * await withRetry(() => client.agent.start.mutate({ jobId, attempt }), { forMs: 120_000 });
 */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const forMs = options.forMs ?? DEFAULT_RETRY_FOR_MS;
  let firstFailure: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error) || options.signal?.aborted) throw error;
      const now = Date.now();
      firstFailure ??= now;
      const delay = retryDelayMs(attempt, options.initialDelayMs, options.maxDelayMs);
      if (now + delay - firstFailure > forMs) throw error;
      options.onRetry?.(error, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}
