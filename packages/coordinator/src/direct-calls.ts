import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { TRPCError, callTRPCProcedure, getTRPCErrorFromUnknown, getTRPCErrorShape } from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { appRouter } from './routers/app.js';
import type { CoordinatorContext } from './trpc.js';

/**
 * The agent mutations answered without tRPC's fetch adapter: they are most of a coordinator's
 * traffic (every job costs a pull and a completion), and the adapter's per-request Fetch
 * `Request`, `Headers`, streams and abort-signal plumbing cost more than the work itself.
 */
export const DIRECT_PATHS: ReadonlySet<string> = new Set([
  'agent.pull',
  'agent.start',
  'agent.heartbeat',
  'agent.logs',
  'agent.complete',
]);

/** The direct calls that may wait for work before they answer. */
const WAITING_PATHS: ReadonlySet<string> = new Set(['agent.pull', 'agent.complete']);

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
  /** Bodies larger than this are refused. */
  maxBodySize: number;
}

const gunzipAsync = promisify(gunzip);

/**
 * Reads a request's body as text. A gzip body (`content-encoding: gzip`, which agents use for
 * large log batches) is inflated; the limit holds for the inflated size too, so a small
 * compressed body cannot expand without bound.
 */
async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity' && encoding !== 'gzip') {
    req.resume();
    throw new TRPCError({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: `content-encoding '${encoding}' is not supported; send gzip or none`,
    });
  }
  const raw = await readRaw(req, limit);
  if (encoding !== 'gzip') return raw.toString();
  try {
    return (await gunzipAsync(raw, { maxOutputLength: limit })).toString();
  } catch (cause) {
    if (cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
      throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `the inflated request body exceeds ${limit} bytes` });
    throw new TRPCError({ code: 'BAD_REQUEST', message: 'the request body is not valid gzip', cause });
  }
}

const readRaw = (req: IncomingMessage, limit: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `the request body exceeds ${limit} bytes` }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    req.on('error', reject);
  });

/**
 * Serves the {@link DIRECT_PATHS} mutations, one call per request (not batched), speaking tRPC's
 * HTTP wire format: `{"result":{"data":…}}`, or `{"error":shape}` with the status tRPC would
 * give. The call itself goes through the router (`callTRPCProcedure`): the same input parsing,
 * middlewares, auth checks and error formatting as through the tRPC handler.
 *
 * Returns a handler that answers and returns true for the requests it serves, and returns false
 * (having touched nothing) for every other request, which the tRPC handler then serves.
 */
export function createDirectCalls(options: DirectCallsOptions) {
  const config = appRouter._def._config;
  return (req: IncomingMessage, res: ServerResponse, pathname: string, search: string): boolean => {
    if (req.method !== 'POST' || search !== '') return false;
    const path = pathname.slice('/trpc/'.length);
    if (!DIRECT_PATHS.has(path)) return false;

    // Aborts when the client goes away before its answer: a pull (alone, or riding on a
    // completion) may wait for work. The other calls answer at once and share a signal that
    // never aborts: on Node 20 each AbortController costs a measurable share of a call.
    const signal = WAITING_PATHS.has(path) ? abortWhenGone(res) : NEVER;
    const send = (status: number, body: unknown) => {
      const json = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    };
    let ctx: CoordinatorContext | undefined;
    let input: unknown;
    (async () => {
      try {
        const text = await readBody(req, options.maxBodySize);
        try {
          input = text === '' ? undefined : JSON.parse(text);
        } catch (cause) {
          throw new TRPCError({ code: 'PARSE_ERROR', message: 'the request body is not JSON', cause });
        }
        ctx = await options.createContext(req, res, signal);
        const data = await callTRPCProcedure({
          router: appRouter,
          path,
          getRawInput: async () => input,
          ctx,
          type: 'mutation',
          signal,
          batchIndex: 0,
        });
        send(200, { result: { data } });
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        const shape = getTRPCErrorShape({ config, error, type: 'mutation', path, input, ctx });
        send(getHTTPStatusCodeFromError(error), { error: shape });
      }
    })();
    return true;
  };
}
