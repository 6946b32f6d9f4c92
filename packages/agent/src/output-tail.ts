/**
 * The last bytes of a command's output, kept for its `ShResult` and its error: chunks are kept
 * as they come and joined once, rather than a string rebuilt per chunk (which, for a command
 * printing fast, made a megabyte of garbage for each 64 KiB read).
 */
export interface OutputTail {
  push(chunk: Buffer): void;
  /** The kept bytes as text (a character cut at the start is dropped). */
  text(): string;
}

/** Creates a tail that keeps at most `maxBytes` (and at least the last chunk). @default 1 MiB */
export function createOutputTail(maxBytes = 1_048_576): OutputTail {
  let chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk) {
      chunks.push(chunk);
      size += chunk.length;
      while (chunks.length > 1 && size - (chunks[0] as Buffer).length >= maxBytes) {
        size -= (chunks.shift() as Buffer).length;
      }
    },
    text() {
      let all = Buffer.concat(chunks);
      if (all.length > maxBytes) all = all.subarray(all.length - maxBytes);
      // Skip continuation bytes a cut left at the start.
      let start = 0;
      while (start < all.length && start < 3 && ((all[start] as number) & 0xc0) === 0x80) start++;
      chunks = [all];
      return all.toString('utf8', start);
    },
  };
}
