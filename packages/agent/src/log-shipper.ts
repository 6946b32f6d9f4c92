import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LogLimitError, formatBytes, isHiveForgeError } from '@hiveforge/sdk';
import { errorCodeOf } from './client.js';
import type { LogChunk } from './log-chunk.js';
import { type LogSpill, createLogSpill } from './log-spill.js';
import { type Masker, createMasker } from './masking.js';
import { withRetry } from './retry.js';
import { createUtf8Splitter } from './utf8-pieces.js';

export type { LogChunk } from './log-chunk.js';

/** Sends one batch of log chunks; resolves when the coordinator has it. */
export type SendLogBatch = (chunks: LogChunk[]) => Promise<void>;

/** The default most bytes of a job's log: 64 MiB. */
export const DEFAULT_LOG_LIMIT_BYTES = 64 * 1_048_576;

/** What a job past its log limit does: its log ends with a truncation line, or it fails. */
export type OnLogLimit = 'truncate' | 'fail';

export interface LogShipperOptions {
  send: SendLogBatch;
  /** Values masked (in all their forms, see masking.ts) before anything leaves the agent. */
  secrets?: readonly string[];
  /** The masker to use instead of one made from `secrets`. */
  masker?: Masker;
  /** Called with every masked piece of text, for local display. */
  onText?: (text: string) => void;
  /**
   * Called once when the log cannot be shipped: the coordinator refused a batch, or the job
   * passed its log limit with `onLimit: 'fail'`. The job should be stopped and fail with it.
   */
  onFailure?: (error: Error) => void;
  /** @default 100 */
  flushIntervalMs?: number;
  /** Most UTF-8 bytes of one chunk. @default 64 KiB */
  chunkBytes?: number;
  /** Most UTF-8 bytes of one batch (the coordinator refuses more than 1 MiB). @default 512 KiB */
  batchBytes?: number;
  /** Most bytes of the job's whole log, the truncation line included. @default 64 MiB */
  limitBytes?: number;
  /** @default 'truncate' */
  onLimit?: OnLogLimit;
  /**
   * Bytes waiting to be sent in memory above which writers are asked to wait (`write` returns
   * false, `drained()` resolves once half of it is sent): the agent's memory stays bounded
   * whatever a job prints. With `spillPath`, what does not fit goes to disk instead, and writers
   * wait only while that much is still on its way to the file. @default 4 MiB
   */
  highWaterBytes?: number;
  /**
   * A file (in the agent's work directory) that takes the log waiting to be sent beyond
   * `highWaterBytes`, so that a job printing through a long coordinator or store outage is not
   * held up; sent from there in order, and removed once sent. Bounded by the log limit. Without
   * it, writers wait (see `highWaterBytes`).
   */
  spillPath?: string;
  /** How long a batch is sent again while the coordinator cannot take it (see `withRetry`). @default 120 s */
  retryForMs?: number;
}

/** Buffers a job's output, masks secrets, and ships it in ordered, idempotent batches. */
export interface LogShipper {
  /** Adds text; false when the caller should wait for `drained()` before writing more. */
  write(text: string): boolean;
  /**
   * A writer of raw output bytes (a command's stdout, say) that decodes UTF-8 across chunks.
   * It returns a promise when the caller should stop reading until it settles.
   */
  writer(): (chunk: Buffer) => Promise<void> | undefined;
  /** Reads a stream into the log, pausing it while too much waits to be sent. */
  attach(stream: Readable): void;
  /** Resolves when the bytes waiting to be sent are below half the high-water mark. */
  drained(): Promise<void>;
  /** Sends everything written so far; rejects with the failure once there is one. */
  flush(): Promise<void>;
  /** Flushes and stops the timer; rejects with the failure (a refused batch, the limit) if any. */
  close(): Promise<void>;
  /** True once the coordinator fenced this attempt: further output is dropped. */
  readonly fenced: boolean;
  /** Why the log could not be shipped, once it could not. */
  readonly failure: Error | null;
  /** Bytes of the job's log shipped or queued so far. */
  readonly bytes: number;
}

const MiB = 1_048_576;

/** The line a log ends with when its job printed past the limit. */
export const truncationLine = (limitBytes: number) =>
  `\n[hiveforge] the job's log reached its limit of ${formatBytes(limitBytes)}: later output is dropped\n`;

/**
 * Creates a log shipper. Chunks carry sequence and byte offset, so a resend is dropped
 * server-side; chunks and batches are sized in UTF-8 bytes, as the coordinator counts them.
 */
export function createLogShipper(options: LogShipperOptions): LogShipper {
  const masker = options.masker ?? createMasker(options.secrets ?? []);
  const masking = masker.stream();
  const chunkBytes = Math.max(4, options.chunkBytes ?? 65_536);
  const batchBytes = Math.max(chunkBytes, options.batchBytes ?? 524_288);
  const limitBytes = options.limitBytes ?? DEFAULT_LOG_LIMIT_BYTES;
  const { pieces: sizedPieces, prefix: utf8Prefix } = createUtf8Splitter();
  const onLimit = options.onLimit ?? 'truncate';
  const highWater = options.highWaterBytes ?? 4 * MiB;
  const truncation = truncationLine(limitBytes);
  /** Output bytes the job may have: the rest of the limit is kept for the truncation line. */
  const outputLimit = Math.max(0, limitBytes - Buffer.byteLength(truncation));

  /** Masked text not yet cut into chunks: only complete lines are cut, unless it grows large. */
  let partial = '';
  const chunks: LogChunk[] = [];
  /** The UTF-8 size of each chunk of `chunks`. */
  const sizes: number[] = [];
  /** Bytes of `chunks` (in memory); the rest waits in `spill`. */
  let waitingBytes = 0;
  let spill: LogSpill | null = null;
  let seq = 0;
  let offset = 0;
  let fenced = false;
  let limited = false;
  let failure: Error | null = null;
  let pumping: Promise<void> | null = null;
  let drainWaiters: (() => void)[] = [];

  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    chunks.length = 0;
    sizes.length = 0;
    waitingBytes = 0;
    void dropSpill();
    releaseWriters();
    options.onFailure?.(error);
  };

  /** Forgets what waits on disk (the log will not be sent) and removes the file. */
  const dropSpill = async () => {
    const dropped = spill;
    spill = null;
    await dropped?.close().catch(() => {});
  };

  const releaseWriters = () => {
    const waiters = drainWaiters;
    drainWaiters = [];
    for (const w of waiters) w();
  };

  /** Queues masked text as chunks, keeping the log within its limit. */
  const enqueue = (masked: string) => {
    if (!masked || limited) return;
    let pieces = sizedPieces(masked, chunkBytes);
    let text = masked;
    if (offset + pieces.reduce((n, p) => n + p.bytes, 0) > outputLimit) {
      limited = true;
      text = utf8Prefix(text, outputLimit - offset);
      if (onLimit === 'fail') {
        text += `\n[hiveforge] the job's log reached its limit of ${formatBytes(limitBytes)}: the job fails\n`;
        text = utf8Prefix(text, limitBytes - offset);
      } else {
        text += truncation;
      }
      pieces = sizedPieces(text, chunkBytes);
    }
    options.onText?.(text);
    for (const piece of pieces) {
      const chunk = { seq: seq++, offset, text: piece.text };
      offset += piece.bytes;
      // Once some of the log waits on disk, all that follows does, to keep the order.
      if (options.spillPath && (spill?.count || waitingBytes + piece.bytes > highWater)) {
        spill ??= createLogSpill(options.spillPath, () => {
          if (!overHighWater()) releaseWriters();
        });
        spill.append(chunk, piece.bytes);
        continue;
      }
      chunks.push(chunk);
      sizes.push(piece.bytes);
      waitingBytes += piece.bytes;
    }
    if (limited && onLimit === 'fail')
      // Ship what fits first: the job's log then says why it failed.
      void pump().then(() =>
        fail(new LogLimitError(`the job's log passed its limit of ${formatBytes(limitBytes)}`, limitBytes)),
      );
  };

  const takeLines = (all: boolean) => {
    const cut = all || partial.length > chunkBytes ? partial.length : partial.lastIndexOf('\n') + 1;
    if (cut <= 0) return;
    const text = partial.slice(0, cut);
    partial = partial.slice(cut);
    enqueue(text);
  };

  const sendBatch = async (batch: LogChunk[]) => {
    try {
      await withRetry(() => options.send(batch), { forMs: options.retryForMs, initialDelayMs: 50 });
    } catch (error) {
      if (errorCodeOf(error) === 'HF_FENCED') {
        fenced = true;
        return;
      }
      throw error;
    }
  };

  /** Sends queued chunks in batches, one batch at a time, until none are left. */
  const pump = (): Promise<void> => {
    pumping ??= (async () => {
      try {
        for (;;) {
          if (fenced || failure) break;
          if (chunks.length === 0 && spill?.count) {
            // The oldest of what waits on disk, back into memory (a batch's worth at most).
            try {
              const taken = await spill.take(batchBytes);
              chunks.push(...taken.chunks);
              sizes.push(...taken.sizes);
              for (const size of taken.sizes) waitingBytes += size;
            } catch (error) {
              fail(asFailure(error));
              return;
            }
          }
          if (chunks.length === 0) break;
          let size = 0;
          let n = 0;
          while (n < chunks.length && n < 256) {
            const next = sizes[n] as number;
            if (n > 0 && size + next > batchBytes) break;
            size += next;
            n++;
          }
          const batch = chunks.slice(0, n);
          try {
            await sendBatch(batch);
          } catch (error) {
            fail(asFailure(error));
            return;
          }
          chunks.splice(0, n);
          sizes.splice(0, n);
          waitingBytes -= size;
          if (waitingBytes <= highWater / 2) releaseWriters();
        }
        if (fenced) {
          chunks.length = 0;
          sizes.length = 0;
          waitingBytes = 0;
          void dropSpill();
          releaseWriters();
        }
      } finally {
        pumping = null;
      }
    })();
    return pumping;
  };

  const overHighWater = () =>
    options.spillPath
      ? (spill?.unwritten ?? 0) + partial.length > highWater
      : waitingBytes + partial.length > highWater;

  const dropping = () => fenced || failure !== null || limited;

  const write = (text: string): boolean => {
    if (dropping()) return true;
    partial += masking.push(text);
    if (partial.length >= chunkBytes) {
      takeLines(false);
      void pump();
    }
    return !overHighWater();
  };

  const drained = () =>
    !overHighWater() || dropping()
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          drainWaiters.push(resolve);
          void pump();
        });

  const flush = async () => {
    partial += masking.end();
    takeLines(true);
    await pump();
    if (pumping) await pumping;
    if (failure) throw failure;
  };

  const timer = setInterval(() => {
    takeLines(false);
    if (chunks.length || spill?.count) void pump();
  }, options.flushIntervalMs ?? 100);
  timer.unref();

  return {
    write,
    writer() {
      const decoder = new StringDecoder('utf8');
      // Past the limit (or once shipping stopped) output is dropped without being decoded.
      return (chunk) => (dropping() || write(decoder.write(chunk)) ? undefined : drained());
    },
    attach(stream) {
      const decoder = new StringDecoder('utf8');
      stream.on('data', (chunk: Buffer) => {
        if (dropping() || write(decoder.write(chunk))) return;
        stream.pause();
        void drained().then(() => stream.resume());
      });
      stream.on('end', () => write(decoder.end()));
    },
    drained,
    flush,
    async close() {
      clearInterval(timer);
      try {
        await flush();
      } finally {
        await dropSpill();
      }
    },
    get fenced() {
      return fenced;
    },
    get failure() {
      return failure;
    },
    get bytes() {
      return offset;
    },
  };
}

/** A refusal as the job's failure: a HiveForge error keeps its code; others say what they were. */
function asFailure(error: unknown): Error {
  if (isHiveForgeError(error)) return error;
  const code = errorCodeOf(error);
  const message = (error as Error)?.message ?? String(error);
  return Object.assign(new Error(`the coordinator refused the job's log: ${message}`), {
    code: code ?? 'HF_COORDINATOR_UNAVAILABLE',
  });
}

/** A job's result once its log could not be shipped: failed, with the failure's code and message. */
export function failedByLog<R extends { status: string; error: string | null }>(
  result: R,
  failure: Error & { code?: string },
): R {
  const described = failure.code ? `${failure.code}: ${failure.message}` : failure.message;
  return { ...result, status: 'failed', error: described.slice(0, 16_000) };
}
