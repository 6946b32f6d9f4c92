import type { LogChunkRecord, LogStore } from '../types.js';
import type { StoredDoc } from './codec.js';
import type { MongoStoreContext } from './context.js';
import { isOnlyDuplicates } from './duplicates.js';
import { decodeLogChunk, encodeLogChunk } from './log-codec.js';
import { Collections } from './schema.js';

/**
 * The size a byte-limited read of log chunks takes a chunk to be before it has read one (agents
 * ship chunks of up to 64 KiB).
 */
const LOG_BYTES_PER_CHUNK_GUESS = 32 * 1024;

/** The log methods of the MongoDB store: chunks stored compressed (see `log-codec.ts`). */
export function createMongoLogs({ db, call }: MongoStoreContext): LogStore {
  const logChunks = db.collection<StoredDoc>(Collections.logChunks);
  return {
    appendLogChunks(chunks) {
      return call('appendLogChunks', async () => {
        if (chunks.length === 0) return 0;
        const docs = await Promise.all(chunks.map(encodeLogChunk));
        try {
          return (await logChunks.insertMany(docs, { ordered: false })).insertedCount;
        } catch (error) {
          // A resent chunk is a duplicate key: ignore those, count what was new.
          if (!isOnlyDuplicates(error)) throw error;
          return error.insertedCount;
        }
      });
    },
    readLogChunks(jobId, after, limit = 1000) {
      return call(`readLogChunks ${jobId}`, async () => {
        const { chunks = 1000, bytes } = typeof limit === 'number' ? { chunks: limit } : limit;
        const n = Math.floor(chunks);
        if (!(n > 0)) return [];
        const query = (from: typeof after, count: number) =>
          logChunks
            .find(
              from
                ? {
                    jobId,
                    $or: [{ attempt: { $gt: from.attempt } }, { attempt: from.attempt, seq: { $gt: from.seq } }],
                  }
                : { jobId },
            )
            .sort({ attempt: 1, seq: 1 })
            .limit(count)
            .toArray();
        if (bytes === undefined) return Promise.all((await query(after, n)).map(decodeLogChunk));
        // A byte-limited read asks for a few chunks at a time, as many as the bytes left would
        // take at the size of the chunks read so far: a read of a huge log holds about `bytes`,
        // whatever size its chunks are and however much a server puts in one batch.
        const read: LogChunkRecord[] = [];
        let size = 0;
        let from = after;
        let count = Math.max(2, Math.ceil(bytes / LOG_BYTES_PER_CHUNK_GUESS));
        while (read.length < n && size < bytes) {
          const want = Math.min(n - read.length, count);
          const docs = await query(from, want);
          for (const doc of docs) {
            const chunk = await decodeLogChunk(doc);
            read.push(chunk);
            size += Buffer.byteLength(chunk.text);
            if (size >= bytes) break;
          }
          const last = read.at(-1);
          if (docs.length < want || !last) break;
          from = { attempt: last.attempt, seq: last.seq };
          count = Math.min(1000, Math.max(2, Math.ceil((bytes - size) / Math.max(1, size / read.length)) + 1));
        }
        return read;
      });
    },
  };
}
