import { createEndpoints } from '@hiveforge/agent';
import { type HiveForgeClient, createHiveForgeClient, hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { type ErrorCode, ErrorCodes, HiveForgeError, isHiveForgeError } from '@hiveforge/sdk';
import { LOGIN_HINT, type LoginConfig, resolveLogin } from './login-config.js';

/**
 * An error of a cluster command: a coordinator's refusal under its own `HF_*` code, an unreachable
 * cluster, or a fault. `hint` says what to do, printed after the message on the same line.
 */
export class ClusterCommandError extends HiveForgeError {
  readonly code: ErrorCode;
  readonly hint: string | null;
  constructor(code: ErrorCode, message: string, options: { hint?: string | null; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint ?? null;
  }
}

/** What a cluster command talks to: the typed client, the coordinators behind it and the token it sends. */
export interface Cluster {
  client: HiveForgeClient;
  urls: readonly string[];
  token: string;
}

/**
 * A typed client over several coordinators: any can serve any request, so a call that cannot
 * reach one (refused, reset, 502/503/504) goes to the next, as the agent's calls do (see the
 * agent's `createEndpoints`). The last one's failure is the call's.
 */
export function createClusterClient(config: LoginConfig): HiveForgeClient {
  const endpoints = createEndpoints(config.urls);
  const base = `${config.urls[0]}/trpc`;
  const rotating = ((input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    // tRPC builds every URL from `base`: what follows it is the path on any coordinator.
    return endpoints.fetch(`/trpc${url.slice(base.length)}`, init);
  }) as typeof fetch;
  return createHiveForgeClient({ url: config.urls[0] as string, token: config.token, fetch: rotating });
}

/** The cluster of the login (or HIVEFORGE_URL / HIVEFORGE_TOKEN); not logged in is an HF_CONFIG error. */
export async function connectCluster(env: NodeJS.ProcessEnv = process.env): Promise<Cluster> {
  const login = await resolveLogin(env);
  return { client: createClusterClient(login), urls: login.urls, token: login.token };
}

/**
 * Runs a cluster command's calls on the login's cluster; whatever they fail with becomes its
 * HiveForgeError (see {@link commandErrorOf}), naming the coordinators when none answered.
 */
export async function withCluster<T>(fn: (cluster: Cluster) => Promise<T>, env: NodeJS.ProcessEnv = process.env) {
  const cluster = await connectCluster(env);
  try {
    return await fn(cluster);
  } catch (error) {
    throw commandErrorOf(error, cluster.urls);
  }
}

const HINTS: Partial<Record<string, string>> = {
  [ErrorCodes.unauthenticated]: `${LOGIN_HINT} with a valid token`,
  [ErrorCodes.forbidden]: 'ask an admin for a token with that role (hiveforge tokens create)',
  [ErrorCodes.coordinatorUnavailable]: 'is it running? check the URLs given to hiveforge login or HIVEFORGE_URL',
};

/** The network failure under an error, as `ECONNREFUSED` or a message; null when it is not one. */
function networkCause(error: unknown): string | null {
  let fetchFailed = false;
  for (let e = error as { cause?: unknown; code?: unknown; message?: unknown } | undefined; e; e = e.cause as never) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
    if (e.message === 'fetch failed') fetchFailed = true;
  }
  return fetchFailed ? 'fetch failed' : null;
}

/**
 * The HiveForgeError a failed command stands for: itself, a coordinator's refusal under its
 * `HF_*` code, an unreachable cluster (HF_COORDINATOR_UNAVAILABLE), or anything else as
 * HF_INTERNAL. Each carries a hint where one helps.
 */
export function commandErrorOf(error: unknown, urls: readonly string[] = []): HiveForgeError {
  if (isHiveForgeError(error)) return error;
  const e = error as { name?: string; message?: string; data?: { hiveforgeCode?: unknown } | null };
  const message = e?.message ?? String(error);
  if (e?.name === 'TRPCClientError') {
    const code = hiveforgeErrorCode(error) as ErrorCode | null;
    if (code) return new ClusterCommandError(code, message, { hint: HINTS[code], cause: error });
    // No tRPC answer at all: nothing (or something that is not HiveForge) answered.
    if (!e.data) {
      const why = networkCause(error) ?? message;
      const where = urls.length ? ` at ${urls.join(', ')}` : '';
      return new ClusterCommandError(ErrorCodes.coordinatorUnavailable, `no coordinator answered${where} (${why})`, {
        hint: HINTS[ErrorCodes.coordinatorUnavailable],
        cause: error,
      });
    }
  }
  return new ClusterCommandError(ErrorCodes.internal, message, {
    hint: 'run again with --debug for the stack',
    cause: error,
  });
}

/** The one line an error prints: `error HF_CODE: message (hint)`; `--debug` adds the stack after it. */
export function errorLine(error: HiveForgeError, debug = false): string {
  const hint = error instanceof ClusterCommandError && error.hint ? ` (${error.hint})` : '';
  const line = `error ${error.code}: ${error.message}${hint}`;
  if (!debug) return `${line}\n`;
  const cause = (error as { cause?: { stack?: string } }).cause;
  return `${line}\n${error.stack ?? ''}\n${cause?.stack ? `caused by: ${cause.stack}\n` : ''}`;
}
