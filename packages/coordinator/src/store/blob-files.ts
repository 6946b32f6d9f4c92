import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type BlobStore, createBlobMeter, isSha256 } from './blobs.js';
import { COLLECT_BLOBS_LIMIT, type CollectBlobsOptions, type CollectedBlobs } from './ports/blob-collection.js';

/** Options of {@link createFileBlobStore}. */
export interface FileBlobStoreOptions {
  /** The directory holding one file per blob, named by its SHA-256 (created on the first put). */
  dir: string;
  /** Creates `dir` with its parents; false when it must not exist yet (a fresh private name). @default true */
  recursive?: boolean;
  /** The time a put stamps on its blob (its file's mtime), which collection compares. @default Date.now */
  now?: () => number;
}

/** Blobs as files, and their collection (see `BlobCollectionStore`). */
export interface FileBlobStore extends BlobStore {
  /**
   * Deletes the blobs of this directory that `isNamed` says no record names and whose last put
   * is older than `putBefore`, and temporary files of puts that never finished.
   */
  collect(options: CollectBlobsOptions, isNamed: (sha256: string) => boolean): Promise<CollectedBlobs>;
}

const TEMP = /^\.[0-9a-f-]+\.(tmp|collect)$/;
const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Blobs as files named by their SHA-256 in one directory: the memory store's blob storage.
 * Bytes are written to a temporary file beside it while hashed, then hard-linked to their hash's
 * name: the link fails when that blob exists (the copy is dropped: identical content is stored
 * once, and the existing file's mtime is set to the put's time), and a reader never sees a
 * half-written blob. A file's mtime is its last put, which collection compares.
 */
export function createFileBlobStore(options: FileBlobStoreOptions): FileBlobStore {
  const { dir } = options;
  const now = options.now ?? Date.now;
  let ready: Promise<unknown> | null = null;
  const ensureDir = () => {
    ready ??= mkdir(dir, { recursive: options.recursive ?? true, mode: 0o700 }).catch((error: unknown) => {
      ready = null;
      throw error;
    });
    return ready;
  };
  const stamp = (path: string) => {
    const at = new Date(now());
    return utimes(path, at, at);
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
        const path = join(dir, sha256);
        await stamp(temp);
        for (;;) {
          try {
            await link(temp, path);
            return { sha256, size, created: true };
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          }
          // There already: this put counts as a new use of it. A collection that took it away
          // meanwhile (ENOENT) is answered by linking this copy in its place.
          try {
            await stamp(path);
            return { sha256, size, created: false };
          } catch (error) {
            if (!isMissing(error)) throw error;
          }
        }
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
        if (isMissing(error)) return null;
        throw error;
      }
      const { size } = await handle.stat();
      return { size, stream: handle.createReadStream() };
    },
    async deleteBlob(sha256) {
      if (isSha256(sha256)) await rm(join(dir, sha256), { force: true });
    },
    async collect({ putBefore, after = null, limit = COLLECT_BLOBS_LIMIT }, isNamed) {
      const names = (await readdir(dir).catch((error: unknown) => (isMissing(error) ? [] : Promise.reject(error))))
        .filter((name) => isSha256(name) || TEMP.test(name))
        .sort()
        .filter((name) => after === null || name > after);
      const batch = names.slice(0, limit);
      const deleted: string[] = [];
      for (const name of batch) {
        const path = join(dir, name);
        const before = await stat(path).catch(() => null);
        if (!before || before.mtimeMs >= putBefore) continue;
        // A put's temporary file this old belongs to a put that never finished.
        if (!isSha256(name)) {
          await rm(path, { force: true });
          continue;
        }
        if (isNamed(name)) continue;
        // Taken out of its name first, then its mtime read again: a put that stamped it since
        // the names were looked up keeps it (linked back); a put that finds it gone links its
        // own copy (see putBlob).
        const aside = join(dir, `.${randomUUID()}.collect`);
        try {
          await rename(path, aside);
        } catch (error) {
          if (isMissing(error)) continue;
          throw error;
        }
        if ((await stat(aside)).mtimeMs >= putBefore)
          await link(aside, path).catch((error: NodeJS.ErrnoException) => {
            if (error.code !== 'EEXIST') throw error;
          });
        else deleted.push(name);
        await rm(aside, { force: true });
      }
      return { deleted, next: names.length > limit ? (batch.at(-1) as string) : null };
    },
  };
}
