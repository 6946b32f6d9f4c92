import { ErrorCodes, type HiveForgeError, UnauthenticatedError, isHiveForgeError } from '@hiveforge/sdk';
import { TRPCError, initTRPC } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import { type AgentTokenCache, type Caller, type TokenMemo, roleAllows } from './auth.js';
import type { Clock } from './clock.js';
import type { Scheduler } from './scheduler/index.js';
import type { Role, Store } from './store/types.js';
import type { Analyzer } from './analyzer/index.js';
import type { Metrics } from './metrics.js';
import type { SecretsCipher } from './secrets/cipher.js';
import { storeUnavailableOf } from './store/mongodb/driver-errors.js';
import type { ReadCache } from './read-cache.js';
import { type StoreHealth, storeOutError, whileStoreAnswers } from './store-health.js';

/** What every procedure sees. */
export interface CoordinatorContext {
  store: Store;
  scheduler: Scheduler;
  /** The time procedures read and record (see `Clock`). */
  clock: Clock;
  analyzer: Analyzer;
  caller: Caller;
  /** The agent records this coordinator keeps for agent tokens (see `AgentTokenCache`). */
  agents: AgentTokenCache;
  /** What this coordinator remembers of the tokens it saw (see `TokenMemo`). */
  tokens: TokenMemo;
  /** The shared secret agents register with. */
  agentSecret: string;
  metrics: Metrics;
  /** Encrypts and decrypts secret values; null when the coordinator was given no secrets key. */
  secrets: SecretsCipher | null;
  /** Aborted when the HTTP request goes away. */
  signal: AbortSignal;
  /**
   * Whether the store answers: user reads fail at once with `HF_STORE_UNAVAILABLE` while it is
   * out (see `StoreHealth`). @default undefined (reads wait for the store)
   */
  storeHealth?: StoreHealth;
  /**
   * What this coordinator last saw of the store, which `cachedReadProcedure`s answer from, marked
   * stale, while the store is out (see `stale-reads.ts`). @default undefined (never stale)
   */
  readCache?: ReadCache;
}

const TRPC_CODES: Record<string, TRPC_ERROR_CODE_KEY> = {
  [ErrorCodes.badInput]: 'BAD_REQUEST',
  [ErrorCodes.payloadTooLarge]: 'PAYLOAD_TOO_LARGE',
  [ErrorCodes.analysisFailed]: 'UNPROCESSABLE_CONTENT',
  [ErrorCodes.specInvalid]: 'UNPROCESSABLE_CONTENT',
  [ErrorCodes.artifactInvalid]: 'BAD_REQUEST',
  [ErrorCodes.cacheInvalid]: 'BAD_REQUEST',
  [ErrorCodes.logLimit]: 'PAYLOAD_TOO_LARGE',
  [ErrorCodes.notFound]: 'NOT_FOUND',
  [ErrorCodes.unauthenticated]: 'UNAUTHORIZED',
  [ErrorCodes.forbidden]: 'FORBIDDEN',
  [ErrorCodes.fenced]: 'CONFLICT',
  [ErrorCodes.conflict]: 'CONFLICT',
  [ErrorCodes.storeUnavailable]: 'SERVICE_UNAVAILABLE',
  [ErrorCodes.config]: 'PRECONDITION_FAILED',
};

/** Maps a HiveForgeError to its tRPC error: the one place this mapping lives. */
export function toTRPCError(error: HiveForgeError): TRPCError {
  return new TRPCError({
    code: TRPC_CODES[error.code] ?? 'INTERNAL_SERVER_ERROR',
    message: error.message,
    cause: error,
  });
}

/**
 * The HiveForge code of a tRPC error raised before a procedure ran (a body that is not JSON, too
 * large, or sent to a path that does not exist), so that every refused request carries one.
 */
const HF_CODES_OF_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, string>> = {
  BAD_REQUEST: ErrorCodes.badInput,
  PARSE_ERROR: ErrorCodes.badInput,
  METHOD_NOT_SUPPORTED: ErrorCodes.badInput,
  UNSUPPORTED_MEDIA_TYPE: ErrorCodes.badInput,
  PAYLOAD_TOO_LARGE: ErrorCodes.payloadTooLarge,
  NOT_FOUND: ErrorCodes.notFound,
  UNAUTHORIZED: ErrorCodes.unauthenticated,
  FORBIDDEN: ErrorCodes.forbidden,
};

/**
 * The HiveForgeError an error stands for: the error itself, or for a raw store driver error that
 * escaped its store (a closed connection, a failed server selection), the retryable
 * `StoreUnavailableError` it means (see `store/mongodb/driver-errors.ts`). Null for anything else.
 */
export function hiveForgeErrorOf(error: unknown): HiveForgeError | null {
  return isHiveForgeError(error) ? error : storeUnavailableOf(error);
}

const t = initTRPC.context<CoordinatorContext>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause as unknown;
    const hf = hiveForgeErrorOf(cause);
    const zodIssues =
      error.code === 'BAD_REQUEST' && cause && typeof cause === 'object' && 'issues' in cause
        ? (cause as { issues: unknown }).issues
        : undefined;
    // An error that reached tRPC unmapped (raised while the context was built, or a raw store
    // error) gets its HiveForgeError's status: a store outage is a 503 the agent retries, not a 500.
    const mapped = hf && error.code === 'INTERNAL_SERVER_ERROR' ? toTRPCError(hf) : null;
    return {
      ...shape,
      ...(mapped ? { message: mapped.message, code: TRPC_ERROR_CODES_BY_KEY[mapped.code] } : {}),
      data: {
        ...shape.data,
        ...(mapped ? { code: mapped.code, httpStatus: getHTTPStatusCodeFromError(mapped) } : {}),
        stack: undefined,
        hiveforgeCode: hf?.code ?? HF_CODES_OF_TRPC[error.code] ?? null,
        retryable: hf?.retryable ?? false,
        details: hf && 'diagnostics' in hf ? (hf as { diagnostics: unknown }).diagnostics : (zodIssues ?? null),
      },
    };
  },
});

export const router = t.router;

/** A procedure's result, with a HiveForgeError it failed with turned into its tRPC error. */
function mapError<R extends { ok: boolean; error?: { cause?: unknown } }>(result: R): R {
  if (result.ok) return result;
  const hf = hiveForgeErrorOf(result.error?.cause);
  if (hf) throw toTRPCError(hf);
  return result;
}

const mapErrors = t.middleware(async ({ next }) => mapError(await next()));

/** Anyone may call: health and agent registration. */
export const publicProcedure = t.procedure.use(mapErrors);

/** The calling agent; a user or anonymous caller gets the error every agent procedure gives. */
export function agentOf(caller: Caller) {
  if (caller.kind === 'anonymous')
    throw toTRPCError(new UnauthenticatedError(caller.refused ?? 'this procedure needs an agent token'));
  if (caller.kind !== 'agent')
    throw new TRPCError({ code: 'FORBIDDEN', message: 'this procedure needs an agent token' });
  return caller.agent;
}

/**
 * Only registered agents. One middleware checks the caller and maps errors (`mapError`): agent calls are most of a coordinator's traffic, and each layer costs every call.
 */
export const agentProcedure = t.procedure.use(async ({ ctx, next }) =>
  mapError(await next({ ctx: { agent: agentOf(ctx.caller) } })),
);

/** The user calling, when their token grants at least `role`; otherwise the error to answer. */
function userOf(caller: Caller, role: Role) {
  if (caller.kind === 'anonymous')
    throw toTRPCError(new UnauthenticatedError(caller.refused ?? 'missing or invalid API token'));
  if (caller.kind !== 'user')
    throw new TRPCError({ code: 'FORBIDDEN', message: 'agent tokens cannot call user procedures' });
  if (!roleAllows(caller.role, role)) {
    throw new TRPCError({
      code: 'FORBIDDEN',
      message: `this needs the ${role} role; your token has ${caller.role}`,
    });
  }
  return caller;
}

/**
 * Users whose token grants at least `role`. While the store is out, queries fail at once with
 * `HF_STORE_UNAVAILABLE` (see `whileStoreAnswers`), and so does every call of a caller accepted
 * from memory (`remembered`).
 */
export const userProcedure = (role: Role) =>
  publicProcedure.use(({ ctx, next, type }) => {
    const user = userOf(ctx.caller, role);
    if (user.remembered) throw toTRPCError(storeOutError());
    return type === 'query'
      ? whileStoreAnswers(ctx.storeHealth, () => next({ ctx: { ...ctx, user } }))
      : next({ ctx: { ...ctx, user } });
  });

/**
 * Reads that may be answered from what this coordinator last saw while the store is out (see
 * `stale-reads.ts`): callers accepted from memory (`remembered`) may call them, and they are not
 * failed up front: each reads through the read cache (`readThrough`) and answers the typed 503
 * itself when it has nothing to show.
 */
export const cachedReadProcedure = (role: Role) =>
  publicProcedure.use(({ ctx, next }) => next({ ctx: { ...ctx, user: userOf(ctx.caller, role) } }));
