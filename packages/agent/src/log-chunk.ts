/** One log chunk: its place in the job's log by sequence number and byte offset. */
export interface LogChunk {
  seq: number;
  offset: number;
  text: string;
}
