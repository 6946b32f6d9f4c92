import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What was written to a spool file: its size and SHA-256 (hex). */
export interface SpooledArchive {
  file: string;
  size: number;
  sha256: string;
}

/**
 * Writes a stream to `file` (created, never overwritten) while hashing it: an artifact is held
 * on disk, never whole in memory, so a retry can send it again and its hash is known before it
 * is sent. Rejects, leaving the partial file for the caller to remove, when the stream fails.
 */
export async function spoolTo(
  source: AsyncIterable<Buffer> | NodeJS.ReadableStream,
  file: string,
): Promise<SpooledArchive> {
  const hash = createHash('sha256');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(source, count, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  return { file, size, sha256: hash.digest('hex') };
}
