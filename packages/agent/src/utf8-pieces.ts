/** A piece of a text and its size in UTF-8 bytes. */
export interface SizedPiece {
  text: string;
  bytes: number;
}

/** Splits texts by their UTF-8 size, into one buffer it reuses (see {@link createUtf8Splitter}). */
export interface Utf8Splitter {
  /**
   * Splits `text` into pieces of at most `maxBytes` UTF-8 bytes, never inside a character (a
   * surrogate pair counts as one), with each piece's size. `maxBytes` must be at least 4, the
   * longest character. Pieces are slices of `text`.
   */
  pieces(text: string, maxBytes: number): SizedPiece[];
  /** The longest prefix of `text` of at most `maxBytes` UTF-8 bytes. */
  prefix(text: string, maxBytes: number): string;
}

const encoder = new TextEncoder();

/**
 * Creates a splitter, which owns the scratch buffer `encodeInto` measures pieces in: one per log
 * shipper, grown to the largest piece size it was asked for, so that a job's output is measured
 * natively without allocating per chunk.
 */
export function createUtf8Splitter(): Utf8Splitter {
  let scratch = new Uint8Array(0);
  const pieces = (text: string, maxBytes: number): SizedPiece[] => {
    // At most 3 bytes a code unit: a short text fits; one with more units than bytes allowed cannot.
    if (text.length <= maxBytes) {
      const bytes = Buffer.byteLength(text);
      if (bytes <= maxBytes) return [{ text, bytes }];
    }
    if (scratch.length < maxBytes) scratch = new Uint8Array(maxBytes);
    const into = scratch.subarray(0, maxBytes);
    const found: SizedPiece[] = [];
    for (let start = 0; start < text.length; ) {
      // Encodes only whole characters that fit: `read` is where this piece ends.
      const { read, written } = encoder.encodeInto(text.slice(start, start + maxBytes), into);
      found.push({ text: text.slice(start, start + read), bytes: written });
      start += read;
    }
    return found;
  };
  return {
    pieces,
    prefix(text, maxBytes) {
      if (maxBytes <= 0) return '';
      return pieces(text, Math.max(4, maxBytes))[0]?.text.slice(0, maxBytes) ?? '';
    },
  };
}

/**
 * Splits `text` into pieces of at most `maxBytes` UTF-8 bytes, never inside a character (see
 * `Utf8Splitter.pieces`). A one-off: a caller splitting often keeps a {@link createUtf8Splitter}.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  return createUtf8Splitter()
    .pieces(text, maxBytes)
    .map((p) => p.text);
}
