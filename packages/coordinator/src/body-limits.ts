import type { IncomingMessage, ServerResponse } from 'node:http';
import { PayloadTooLargeError } from '@hiveforge/sdk';
import type { Caller } from './auth.js';

/**
 * The largest request body a caller may send, in bytes, by who it is. A request's token is
 * checked before its body is read, so a caller without a valid token can make a coordinator hold
 * at most `anonymous` bytes (agent registration is the only call it may make). Agents send log
 * batches of at most `LOG_LIMITS.bytesPerBatch` (1 MiB) of text; users deploy bundles of up to
 * `DEPLOY_LIMITS` (20 MB plus 5 MB of sources). Artifacts have their own limit
 * (`MAX_ARTIFACT_BYTES`), streamed and checked after the token.
 */
export const BODY_LIMITS = { anonymous: 64 * 1024, agent: 8 * 1024 * 1024, user: 32 * 1024 * 1024 } as const;

/** The body limit of a caller (see {@link BODY_LIMITS}). */
export const bodyLimitOf = (caller: Caller): number => BODY_LIMITS[caller.kind];

/** The body length a request declares (`content-length`), or null when it is sent chunked. */
export function declaredLength(req: IncomingMessage): number | null {
  const header = req.headers['content-length'];
  if (header === undefined) return null;
  const length = Number(header);
  return Number.isFinite(length) && length >= 0 ? length : null;
}

/** The error for a body over `limit` bytes. */
export const tooLarge = (limit: number, what = 'the request body'): PayloadTooLargeError =>
  new PayloadTooLargeError(`${what} exceeds ${limit} bytes, the most this route accepts from this caller`, limit);

/**
 * Reads a request's body up to `limit` bytes; a larger body is refused with a
 * PayloadTooLargeError, not truncated. One that declares more is refused before any of it is
 * read; one sent chunked is counted as it arrives and refused at the limit. The request is not
 * destroyed: answer it with {@link answerJson}, which drops the rest unread.
 */
export function readLimitedBody(req: IncomingMessage, limit: number, what = 'the request body'): Promise<Buffer> {
  if ((declaredLength(req) ?? 0) > limit) return Promise.reject(tooLarge(limit, what));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.off('end', onEnd);
      chunks.length = 0;
      req.pause();
      reject(tooLarge(limit, what));
    };
    const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    req.on('data', onData);
    req.on('end', onEnd);
    req.once('error', reject);
  });
}

/** How long a client still sending a refused body has to read its answer before its connection is closed. */
const LINGER_MS = 2_000;

/**
 * Answers a request with JSON, whether or not its body was read. A body left unread (refused by
 * its length or its caller's token, or cut at its limit) is not read further: the answer is sent
 * whole, the request stays paused (so the client's sending stalls in the kernel's buffers, not
 * in the coordinator's memory), and the connection is closed once the client hangs up or after
 * two seconds. Closing a socket that has unread data resets it, and a reset can reach a client
 * still sending before it read the answer; the wait lets it read it first (Go's `net/http`
 * waits the same way before it closes such a connection).
 */
export function answerJson(req: IncomingMessage, res: ServerResponse, status: number, payload: unknown): void {
  const bytes = Buffer.from(JSON.stringify(payload));
  const unread = !req.readableEnded;
  res.writeHead(status, [
    'content-type',
    'application/json',
    'content-length',
    String(bytes.length),
    ...(unread ? ['connection', 'close'] : []),
  ]);
  if (!unread) return void res.end(bytes);
  // Not `end`: a finished response makes Node read (and drop) the rest of the body at full speed.
  res.write(bytes);
  req.pause();
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
