export interface LogChunkRecord {
  _id: string;
  jobId: string;
  runId: string;
  attempt: number;
  seq: number;
  /** Byte offset of this chunk in the attempt's log. */
  offset: number;
  text: string;
  at: number;
}

/** How much one {@link LogStore.readLogChunks} reads. */
export interface LogReadLimit {
  /** At most this many chunks. @default 1000 */
  chunks?: number;
  /**
   * Stops at the chunk whose text brings the total to this many bytes (UTF-8) or more, so that a
   * read of a large log holds about this much, not the whole log. @default no limit
   */
  bytes?: number;
}

/** Job logs of the Store. */
export interface LogStore {
  /** Stores log chunks; a chunk whose `_id` exists already is ignored. Returns how many were new. */
  appendLogChunks(chunks: readonly LogChunkRecord[]): Promise<number>;
  /**
   * Chunks of one job, ordered by attempt then sequence, after the given position: at most
   * `limit` chunks (a number is `{ chunks: limit }`), and with `limit.bytes`, no more than it
   * takes to reach that many bytes of text (the chunk that reaches it is the last one read).
   */
  readLogChunks(
    jobId: string,
    after?: { attempt: number; seq: number },
    limit?: number | LogReadLimit,
  ): Promise<LogChunkRecord[]>;
}
