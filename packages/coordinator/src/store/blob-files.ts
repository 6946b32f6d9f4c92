import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type BlobStore, createBlobMeter, isSha256 } from './blobs.js';

/** Options of {@link createFileBlobStore}. */
export interface FileBlobStoreOptions {
  /** The directory holding one file per blob, named by its SHA-256 (created on the first put). */
  dir: string;
  /** Creates `dir` with its parents; false when it must not exist yet (a fresh private name). @default true */
  recursive?: boolean;
}

/**
 * Blobs as files named by their SHA-256 in one directory: the memory store's blob storage.
 * Bytes are written to a temporary file beside it while hashed, then hard-linked to their hash's
 * name: the link fails when that blob exists (the copy is dropped: identical content is stored
 * once), and a reader never sees a half-written blob.
 */
export function createFileBlobStore(options: FileBlobStoreOptions): BlobStore {
  const { dir } = options;
  let ready: Promise<unknown> | null = null;
  const ensureDir = () => {
    ready ??= mkdir(dir, { recursive: options.recursive ?? true, mode: 0o700 }).catch((error: unknown) => {
      ready = null;
      throw error;
    });
    return ready;
  };
  return {
    async putBlob(source, putOptions = {}) {
      await ensureDir();
      const temp = join(dir, `.${randomUUID()}.tmp`);
      try {
        const meter = createBlobMeter(putOptions);
        const stages = putOptions.verify ? [putOptions.verify, meter] : [meter];
        await pipeline([source, ...stages, createWriteStream(temp, { flags: 'wx', mode: 0o600 })] as never);
        const { sha256, size } = meter.result();
        let created = true;
        try {
          await link(temp, join(dir, sha256));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          created = false;
        }
        return { sha256, size, created };
      } finally {
        await rm(temp, { force: true });
      }
    },
    async openBlob(sha256) {
      if (!isSha256(sha256)) return null;
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(join(dir, sha256), 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const { size } = await handle.stat();
      return { size, stream: handle.createReadStream() };
    },
    async deleteBlob(sha256) {
      if (isSha256(sha256)) await rm(join(dir, sha256), { force: true });
    },
  };
}
