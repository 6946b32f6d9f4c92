import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ArtifactInvalidError, PayloadTooLargeError } from '@hiveforge/sdk';

/**
 * Content-addressed blob storage: the part of the Store that holds bytes. Artifacts (and cache
 * entries) are small records that point at a blob by its SHA-256; a blob is stored once however
 * many records name it, so a second upload of identical content stores nothing new.
 *
 * How a record kind uses it (artifacts do exactly this; a cache entry can do the same):
 * ```ts
 * const blob = await store.putBlob(request, { maxBytes, expectedSha256, verify: createArchiveCheck() });
 * await store.putArtifact({ _id, ..., sha256: blob.sha256, size: blob.size }); // the record, after the bytes
 * const found = await store.openBlob(record.sha256); // { size, stream } or null
 * ```
 * Bytes go in before the record that names them, so a reader never finds a record without its
 * bytes. Two puts of the same content at once both succeed: the first to commit keeps its copy,
 * the other's copy is dropped (the unique key, the hash, decides, as every Store decision).
 * Blobs no record names any more are not deleted by puts; `deleteBlob` is for a sweep that
 * knows every kind of record (none runs yet: a replaced artifact leaves its old blob).
 *
 * Adapters: files named by hash in a directory (`blob-files.ts`, the memory store's) and GridFS
 * (the MongoDB store's).
 */
export interface BlobStore {
  /**
   * Streams `source` into storage while hashing it; resolves once the bytes are durable, with
   * their SHA-256 and size. Nothing is stored, and it rejects, when the source fails, when it
   * exceeds `maxBytes` (`PayloadTooLargeError`), when its hash is not `expectedSha256`
   * (`ArtifactInvalidError`), or when `verify` (a pass-through stream that fails at its end, such
   * as the archive check) fails.
   */
  putBlob(source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream, options?: PutBlobOptions): Promise<PutBlobResult>;
  /** The bytes of a blob, streamed, or null when there is no blob of that hash. */
  openBlob(sha256: string): Promise<OpenedBlob | null>;
  /** Deletes a blob; one already gone is fine. Only for a sweep that knows no record names it. */
  deleteBlob(sha256: string): Promise<void>;
}

/** Options of {@link BlobStore.putBlob}. */
export interface PutBlobOptions {
  /** The most bytes accepted. @default unlimited */
  maxBytes?: number;
  /** What the bytes are called in errors. @default 'the blob' */
  what?: string;
  /** The SHA-256 (hex) the sender computed: a different one refuses the bytes. @default unchecked */
  expectedSha256?: string;
  /** A pass-through stream the bytes flow through before they are committed; its failure refuses them. */
  verify?: NodeJS.ReadWriteStream;
}

/** What {@link BlobStore.putBlob} stored. */
export interface PutBlobResult {
  sha256: string;
  size: number;
  /** False when a blob of this hash was there already: nothing new was stored. */
  created: boolean;
}

/** A blob opened for reading. */
export interface OpenedBlob {
  size: number;
  stream: NodeJS.ReadableStream;
}

/** A SHA-256 in hex: the only form of blob key a store accepts (it names files and `_id`s). */
export const isSha256 = (key: string): boolean => /^[0-9a-f]{64}$/.test(key);

/**
 * The stream an adapter pipes a blob's bytes through: hashes and counts them, refuses them past
 * `maxBytes`; `result()` gives the hash and size once it has ended, checked against
 * `expectedSha256`. Shared by the adapters so each refuses the same way.
 */
export function createBlobMeter(options: PutBlobOptions = {}): Transform & {
  result(): { sha256: string; size: number };
} {
  const hash = createHash('sha256');
  let size = 0;
  let digest: string | null = null;
  const what = options.what ?? 'the blob';
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (options.maxBytes !== undefined && size > options.maxBytes)
        return callback(
          new PayloadTooLargeError(`${what} exceeds ${options.maxBytes} bytes, the most accepted`, options.maxBytes),
        );
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      digest = hash.digest('hex');
      if (options.expectedSha256 !== undefined && options.expectedSha256 !== digest)
        return callback(
          new ArtifactInvalidError(
            `${what} arrived with SHA-256 ${digest}, not the ${options.expectedSha256} it was sent with`,
          ),
        );
      callback();
    },
  });
  return Object.assign(meter, {
    result() {
      if (digest === null) throw new Error('the blob meter has not ended');
      return { sha256: digest, size };
    },
  });
}
