// Logs are most of what the store holds, and text compresses well. A chunk's text is stored
// deflated (raw DEFLATE, node:zlib) as BSON Binary in `_data`, with `_encoding: 'deflate-raw'`,
// when that saves at least an eighth of its bytes; small chunks, and text that does not
// compress, stay plain in `text`. Raw DEFLATE rather than gzip: the document says how the bytes
// are encoded, so gzip's header and checksum would be 18 wasted bytes per chunk. Rather than
// brotli: at the qualities that compress as fast as DEFLATE (~0.6 ms per 64 KiB chunk) it
// saves only ~10% more, and DEFLATE inflates faster and is readable by any zlib. Documents
// written before compression (plain `text`) read as they always did.
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { Binary, type Document } from 'mongodb';
import type { LogChunkRecord } from '../types.js';
import { HIDDEN, type StoredDoc, decode, encode } from './codec.js';

/** How a compressed chunk's `_data` is encoded. */
const LOG_ENCODING = 'deflate-raw';
/** Chunks of fewer UTF-8 bytes are stored plain: compressing them saves next to nothing. */
const LOG_COMPRESS_MIN_BYTES = 256;
const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

/** A log chunk as stored: compressed when it pays. */
export async function encodeLogChunk(chunk: LogChunkRecord): Promise<StoredDoc> {
  const doc = encode(chunk) as StoredDoc;
  const bytes = Buffer.from(chunk.text, 'utf8');
  if (bytes.length < LOG_COMPRESS_MIN_BYTES) return doc;
  const packed = await deflateRawAsync(bytes);
  if (packed.length > bytes.length - bytes.length / 8) return doc;
  const { text: _text, ...rest } = doc;
  return { ...rest, _id: chunk._id, _encoding: LOG_ENCODING, _data: new Binary(packed) };
}

/** A stored log chunk as its record, its text decompressed. */
export async function decodeLogChunk(doc: Document): Promise<LogChunkRecord> {
  const chunk = decode<LogChunkRecord>(doc, HIDDEN.logChunks);
  if (doc._encoding === undefined) return chunk;
  if (doc._encoding !== LOG_ENCODING || !(doc._data instanceof Binary)) {
    throw new Error(`log chunk '${String(doc._id)}' has an unknown encoding '${String(doc._encoding)}'`);
  }
  chunk.text = (await inflateRawAsync(doc._data.read(0, doc._data.length()))).toString('utf8');
  return chunk;
}
