import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { isHiveForgeError } from '@hiveforge/sdk';
import { TRPCError, getTRPCErrorFromUnknown, getTRPCErrorShape } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { ZodType } from 'zod';
import { answerJson, bodyLimitOf, declaredLength, readLimitedBody, tooLarge } from './body-limits.js';
import { type AgentCall, agentCalls } from './routers/agent.js';
import { appRouter } from './routers/app.js';
import type { AgentRecord } from './store/types.js';
import { type CoordinatorContext, agentOf, hiveForgeErrorOf, toTRPCError } from './trpc.js';

/** Any agent call: `run` is declared as a method, so a call of a narrower input fits. */
type AnyAgentCall = AgentCall<ZodType, unknown>;

/**
 * The agent mutations by path, answered without tRPC's fetch adapter: they are most of a
 * coordinator's traffic (every job costs a pull and a completion), and the adapter's
 * per-request Fetch `Request`, `Headers`, streams and abort-signal plumbing cost more than the
 * work itself.
 */
const DIRECT_CALLS: ReadonlyMap<string, AnyAgentCall> = new Map(
  Object.entries(agentCalls).map(([name, call]): [string, AnyAgentCall] => [`agent.${name}`, call]),
);

/**
 * Runs an agent call as its tRPC procedure (`agentProcedure`, then the input parser, then the
 * resolver) would, without tRPC's middleware chain: the input is parsed (a schema error is a
 * `BAD_REQUEST` caused by it), then the call runs, and a HiveForgeError it throws (or a raw store
 * error's, `hiveForgeErrorOf`) becomes its tRPC error (`toTRPCError`). The caller was checked to
 * be an agent before the body was read.
 */
async function runAgentCall(call: AnyAgentCall, ctx: CoordinatorContext, agent: AgentRecord, input: unknown) {
  let parsed: unknown;
  try {
    parsed = call.input.parse(input);
  } catch (cause) {
    throw new TRPCError({ code: 'BAD_REQUEST', cause });
  }
  try {
    return await call.run({ ...ctx, agent }, parsed);
  } catch (error) {
    const hf = hiveForgeErrorOf(error);
    throw hf ? toTRPCError(hf) : error;
  }
}

/**
 * Whether a direct call may wait for work before it answers: a pull, or a completion that pulls
 * its next job with a wait (`next.waitMs` > 0; a pull without `waitMs` waits the coordinator's
 * pull wait).
 */
function mayWait(path: string, input: unknown): boolean {
  if (path === 'agent.pull') return true;
  if (path !== 'agent.complete') return false;
  const next = (input as { next?: { waitMs?: unknown } } | null)?.next;
  return next != null && next.waitMs !== 0;
}

/**
 * A signal that aborts when the client goes away before its answer. Only then: an abort builds
 * an exception, which a response that ended does not need.
 */
export function abortWhenGone(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableEnded) abort.abort();
  });
  return abort.signal;
}

/** The signal of calls that answer at once. */
const NEVER = new AbortController().signal;

/** Options of {@link createDirectCalls}. */
export interface DirectCallsOptions {
  /** The context of one request (the same the tRPC handler builds). */
  createContext(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<CoordinatorContext>;
  /** The body limit of an agent's call, in bytes, compressed and inflated. */
  maxBodySize: number;
}

const gunzipAsync = promisify(gunzip);

/**
 * Reads a request's body as text. A gzip body (`content-encoding: gzip`, which agents use for
 * large log batches) is inflated; the limit holds for the inflated size too, so a small
 * compressed body cannot expand without bound (see `readLimitedBody` for a body over it).
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity' && encoding !== 'gzip') {
    throw new TRPCError({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `content-encoding '${encoding}' is not supported; send gzip or none`,
    });
  }
  let raw: Buffer;
  try {
    raw = await readLimitedBody(req, limit);
  } catch (error) {
    throw isHiveForgeError(error) ? toTRPCError(error) : error;
  }
  if (encoding !== 'gzip') return raw.toString();
  try {
    return (await gunzipAsync(raw, { maxOutputLength: limit })).toString();
  } catch (cause) {
    if (cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw toTRPCError(tooLarge(limit, 'the inflated request body'));
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'the request body is not valid gzip', cause });
  }
}

/**
 * Serves the agent mutations (`DIRECT_CALLS`), one call per request (not batched), speaking tRPC's
 * HTTP wire format: `{"result":{"data":…}}`, or `{"error":shape}` with the status tRPC would
 * give. The calls are the router's own (`agentCalls`): the same schemas and code, the same auth
 * check and error mapping (`runAgentCall`), the same error formatter; only tRPC's per-call
 * middleware chain, which spread a copy of its options at each layer, is left out.
 *
 * Returns a handler that answers and returns true for the requests it serves, and returns false
 * (having touched nothing) for every other request, which the tRPC handler then serves.
 */
export function createDirectCalls(options: DirectCallsOptions) {
  const config = appRouter._def._config;
  return (req: IncomingMessage, res: ServerResponse, pathname: string): boolean => {
    if (req.method !== 'POST') return false;
    const path = pathname.slice('/trpc/'.length);
    const call = DIRECT_CALLS.get(path);
    if (!call) return false;

    let ctx: CoordinatorContext | undefined;
    let input: unknown;
    (async () => {
      try {
        // The token is checked before the body is read: a caller that is not an agent is
        // answered without a byte of its body held.
        ctx = await options.createContext(req, res, NEVER);
        const limit = bodyLimitOf(ctx.caller);
        if ((declaredLength(req) ?? 0) > limit) throw toTRPCError(tooLarge(limit));
        const agent = agentOf(ctx.caller);
        const text = await readBody(req, options.maxBodySize);
        try {
          input = text === '' ? undefined : JSON.parse(text);
        } catch (cause) {
          throw new TRPCError({ code: 'PARSE_ERROR', message: 'the request body is not JSON', cause });
        }
        // Aborts when the client goes away before its answer, for calls that may wait for work.
        // The others answer at once and share a signal that never aborts: on Node 20 each
        // AbortController costs a measurable share of a call.
        if (mayWait(path, input)) ctx.signal = abortWhenGone(res);
        const data = await runAgentCall(call, ctx, agent, input);
        const bytes = Buffer.from(JSON.stringify({ result: { data } }));
        res.writeHead(200, ['content-type', 'application/json', 'content-length', String(bytes.length)]);
        res.end(bytes);
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        const shape = getTRPCErrorShape({ config, error, type: 'mutation', path, input, ctx });
        // The formatter's status: it maps errors raised before the call's own mapping too.
        const status = (shape as { data?: { httpStatus?: unknown } }).data?.httpStatus;
        answerJson(req, res, typeof status === 'number' ? status : getHTTPStatusCodeFromError(error), { error: shape });
      }
    })();
    return true;
  };
}
