/**
 * The caches aggregate kept in a directory: each entry's record is `<id>.json`, and archives are
 * blobs in `blobs/` (files named by SHA-256, `blob-files.ts`). The memory store keeps its caches
 * this way (in a temporary directory by default), and `hiveforge run` points it at
 * `.hiveforge/cache`, so local runs restore what the previous local run saved.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createFileBlobStore } from './blob-files.js';
import type { CollectBlobsOptions, CollectedBlobs } from './ports/blob-collection.js';
import { type CacheEntryRecord, type CacheStore, byPipelineThenKey } from './ports/caches.js';

const ID = /^[0-9a-f]{40}$/;

/** The caches aggregate in a directory, and the collection of its blobs. */
export interface DirectoryCaches extends CacheStore {
  /** Collects the archives no entry names (see `BlobCollectionStore.collectBlobs`). */
  collectCacheBlobs(options: CollectBlobsOptions): Promise<CollectedBlobs>;
}

/**
 * Creates the caches aggregate in `dir` (created when first written).
 * @param now the time a put stamps on its archive (see `createFileBlobStore`). @default Date.now
 */
export function createDirectoryCaches(dir: string, now: () => number = Date.now): DirectoryCaches {
  const blobs = createFileBlobStore({ dir: join(dir, 'blobs'), now });
  const recordPath = (id: string) => join(dir, `${id}.json`);
  const read = async (id: string): Promise<CacheEntryRecord | null> => {
    if (!ID.test(id)) return null;
    const text = await readFile(recordPath(id), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as CacheEntryRecord);
  };
  const all = async (): Promise<CacheEntryRecord[]> => {
    const names = await readdir(dir).catch(() => [] as string[]);
    const entries = await Promise.all(
      names.filter((n) => n.endsWith('.json')).map((n) => read(n.slice(0, -'.json'.length))),
    );
    return entries.filter((e) => e !== null);
  };
  return {
    putCacheBlob: (source, options) => blobs.putBlob(source, options),
    openCacheBlob: (sha256) => blobs.openBlob(sha256),
    async collectCacheBlobs(options) {
      const named = new Set((await all()).map((e) => e.sha256));
      return blobs.collect(options, (sha256) => named.has(sha256));
    },
    async insertCacheEntry(entry) {
      await mkdir(dir, { recursive: true });
      // Creating the record (`wx`) is the decision: a second save of the key finds it there.
      try {
        await writeFile(recordPath(entry._id), JSON.stringify(entry), { flag: 'wx' });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    },
    async findCacheEntries(query) {
      const scopes = new Set(query.scopes);
      return (await all()).filter(
        (e) => e.pipeline === query.pipeline && e.version === query.version && scopes.has(e.scope),
      );
    },
    getCacheEntry: read,
    async touchCacheEntry(id, at) {
      const stored = await read(id);
      if (!stored || stored.lastUsedAt >= at) return;
      const tmp = `${recordPath(id)}.${randomUUID()}.tmp`;
      await writeFile(tmp, JSON.stringify({ ...stored, lastUsedAt: at }));
      await rename(tmp, recordPath(id));
    },
    async listCacheEntries(pipeline) {
      return (await all()).filter((e) => pipeline === undefined || e.pipeline === pipeline).sort(byPipelineThenKey);
    },
    async removeCacheEntry(id) {
      const stored = await read(id);
      if (!stored) return null;
      await rm(recordPath(id), { force: true });
      return stored;
    },
  };
}
