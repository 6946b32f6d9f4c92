import { z } from 'zod';
import { type JobRecord, type Store, isTerminal } from './store/types.js';

/** The pages of `runs.logs`: bytes of text per page (default, least, most) and chunks at most. */
export const LOG_PAGE = {
  defaultBytes: 1024 * 1024,
  minBytes: 64 * 1024,
  maxBytes: 4 * 1024 * 1024,
  chunks: 5_000,
} as const;

/** A position in a job's log, `<attempt>:<seq>`: the last chunk a page returned. */
export const LogCursor = z
  .string()
  .regex(/^\d{1,7}:\d{1,15}$/, 'a log cursor is the `next` of a page, `<attempt>:<seq>`')
  .transform((cursor) => {
    const [attempt, seq] = cursor.split(':').map(Number) as [number, number];
    return { attempt, seq };
  });

type Position = { attempt: number; seq: number };

const formatCursor = (at: Position) => `${at.attempt}:${at.seq}`;
const before = (a: Position, b: Position) => a.attempt < b.attempt || (a.attempt === b.attempt && a.seq < b.seq);

/** One page of a job's log, as `runs.logs` returns it. */
export interface LogPage {
  chunks: { attempt: number; seq: number; offset: number; text: string }[];
  /** The cursor of the following page (null before any chunk was read). */
  next: string | null;
  /** The job had ended and this page reached the end of its log (or of the attempt's). */
  complete: boolean;
}

/**
 * Reads one page of a job's log: the chunks after `cursor` (of `attempt` only, when given), up
 * to `maxBytes` of text, and never more than one page from the store, however large the log.
 * The job is read before its chunks, so a page that says `complete` has every chunk shipped.
 */
export async function readLogPage(
  store: Store,
  job: JobRecord,
  input: { attempt?: number; cursor?: Position; maxBytes: number },
): Promise<LogPage> {
  const start = input.attempt === undefined ? undefined : { attempt: input.attempt, seq: -1 };
  const from = input.cursor && (!start || !before(input.cursor, start)) ? input.cursor : start;
  const read = await store.readLogChunks(job._id, from, { chunks: LOG_PAGE.chunks, bytes: input.maxBytes });
  // The store stops at the chunk that reaches the limit: one that passes it starts the next page.
  let chunks = read;
  let size = 0;
  for (const [i, chunk] of read.entries()) {
    size += Buffer.byteLength(chunk.text);
    if (size > input.maxBytes && i > 0) {
      chunks = read.slice(0, i);
      break;
    }
  }
  const more = chunks.length < read.length || size >= input.maxBytes || read.length === LOG_PAGE.chunks;
  let attemptEnded = false;
  if (input.attempt !== undefined) {
    const past = chunks.findIndex((c) => c.attempt > (input.attempt as number));
    if (past >= 0) {
      chunks = chunks.slice(0, past);
      attemptEnded = true;
    }
  }
  const last = chunks.at(-1);
  const ended = isTerminal(job.state) || (input.attempt !== undefined && job.attempt > input.attempt);
  return {
    chunks: chunks.map(({ attempt, seq, offset, text }) => ({ attempt, seq, offset, text })),
    next: last ? formatCursor(last) : input.cursor ? formatCursor(input.cursor) : null,
    complete: ended && (attemptEnded || !more),
  };
}
