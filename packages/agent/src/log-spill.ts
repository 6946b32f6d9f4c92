import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LogChunk } from './log-chunk.js';

/**
 * The part of a job's unsent log that does not fit in memory, in a file of the agent's work
 * directory: chunks are appended in order and taken back from the front, oldest first.
 *
 * The file holds the chunks' text only; their sequence numbers, offsets and places in the file
 * stay in memory (a few numbers a chunk). It never outgrows the job's log limit (the shipper
 * spills nothing past it), is emptied (truncated) each time all of it was taken, and is
 * removed by `close`.
 */
export interface LogSpill {
  /** Appends a chunk of `bytes` UTF-8 bytes after everything spilled so far. */
  append(chunk: LogChunk, bytes: number): void;
  /** Chunks spilled and not taken yet. */
  readonly count: number;
  /** Their UTF-8 bytes. */
  readonly bytes: number;
  /** Bytes appended but not yet written to the file. */
  readonly unwritten: number;
  /**
   * Takes the oldest chunks, at least one and at most `maxBytes` in all (one larger chunk alone),
   * with their sizes; none when nothing is spilled. Rejects when the file cannot be written or read.
   */
  take(maxBytes: number): Promise<{ chunks: LogChunk[]; sizes: number[] }>;
  /** Forgets what is spilled and removes the file. */
  close(): Promise<void>;
}

interface Entry {
  seq: number;
  offset: number;
  bytes: number;
  /** Where its text starts in the file. */
  at: number;
}

/**
 * Creates the spill file of one attempt's log at `path` (made, with its folder, at the first
 * append). `onWritten` is called after each chunk reached the file (or failed to).
 * @example
 * const spill = createLogSpill(join(workDir, 'log-spill', 'build-a1.log'));
 */
export function createLogSpill(path: string, onWritten?: () => void): LogSpill {
  const entries: Entry[] = [];
  let head = 0;
  let spilledBytes = 0;
  let unwritten = 0;
  /** Where the next chunk goes in the file. */
  let end = 0;
  let file: Promise<FileHandle> | null = null;
  /** The writes, one after the other: `take` reads only what is written. */
  let writing: Promise<void> = Promise.resolve();
  let failure: Error | null = null;
  let closed = false;

  const handle = () => {
    file ??= mkdir(dirname(path), { recursive: true }).then(() => open(path, 'w+'));
    return file;
  };

  return {
    append(chunk, bytes) {
      if (closed) return;
      const at = end;
      entries.push({ seq: chunk.seq, offset: chunk.offset, bytes, at });
      end += bytes;
      spilledBytes += bytes;
      unwritten += bytes;
      const data = Buffer.from(chunk.text, 'utf8');
      writing = writing.then(async () => {
        try {
          if (!failure && !closed) await (await handle()).write(data, 0, data.length, at);
        } catch (error) {
          failure ??= new Error(`could not spill the job's log to ${path}: ${(error as Error).message}`, {
            cause: error,
          });
        } finally {
          unwritten -= bytes;
          onWritten?.();
        }
      });
    },
    get count() {
      return entries.length - head;
    },
    get bytes() {
      return spilledBytes;
    },
    get unwritten() {
      return unwritten;
    },
    async take(maxBytes) {
      if (head >= entries.length) return { chunks: [], sizes: [] };
      await writing;
      if (failure) throw failure;
      let n = 0;
      let size = 0;
      while (head + n < entries.length) {
        const next = (entries[head + n] as Entry).bytes;
        if (n > 0 && size + next > maxBytes) break;
        size += next;
        n++;
      }
      const taken = entries.slice(head, head + n);
      const first = taken[0] as Entry;
      const buffer = Buffer.alloc(size);
      const fh = await handle();
      for (let read = 0; read < size; ) {
        const { bytesRead } = await fh.read(buffer, read, size - read, first.at + read);
        if (bytesRead === 0) throw new Error(`the job's log spill file ${path} is shorter than written`);
        read += bytesRead;
      }
      const chunks: LogChunk[] = [];
      const sizes: number[] = [];
      let at = 0;
      for (const e of taken) {
        chunks.push({ seq: e.seq, offset: e.offset, text: buffer.toString('utf8', at, at + e.bytes) });
        sizes.push(e.bytes);
        at += e.bytes;
      }
      head += n;
      spilledBytes -= size;
      if (head === entries.length) {
        // All taken (and every write done, none queued since the await): start the file again.
        entries.length = 0;
        head = 0;
        if (unwritten === 0) {
          // Queued with the writes, so that a chunk appended meanwhile lands after it.
          end = 0;
          writing = writing.then(() => fh.truncate(0).catch(() => {}));
        }
      } else if (head > 4_096) {
        entries.splice(0, head);
        head = 0;
      }
      return { chunks, sizes };
    },
    async close() {
      closed = true;
      entries.length = 0;
      head = 0;
      spilledBytes = 0;
      await writing;
      if (file) await (await file).close().catch(() => {});
      file = null;
      await rm(path, { force: true });
    },
  };
}
