/**
 * The caches aggregate kept in a directory: each entry is `<id>.json` (its record) beside the
 * archive it names. The memory store keeps its caches this way (in a temporary directory by
 * default), and `hiveforge run` points it at `.hiveforge/cache`, so local runs restore what the
 * previous local run saved.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CacheEntryRecord, type CacheStore, byPipelineThenKey } from './ports/caches.js';

interface StoredEntry extends CacheEntryRecord {
  /** The archive's file name in the directory. */
  file: string;
}

const ID = /^[0-9a-f]{40}$/;

/** Creates the caches aggregate in `dir` (created when first written). */
export function createDirectoryCaches(dir: string): CacheStore {
  const recordPath = (id: string) => join(dir, `${id}.json`);
  const read = async (id: string): Promise<StoredEntry | null> => {
    if (!ID.test(id)) return null;
    const text = await readFile(recordPath(id), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as StoredEntry);
  };
  const all = async (): Promise<StoredEntry[]> => {
    const names = await readdir(dir).catch(() => [] as string[]);
    const entries = await Promise.all(
      names.filter((n) => n.endsWith('.json')).map((n) => read(n.slice(0, -'.json'.length))),
    );
    return entries.filter((e) => e !== null);
  };
  const recordOf = ({ file: _file, ...entry }: StoredEntry): CacheEntryRecord => entry;
  return {
    async insertCacheEntry(entry, data) {
      await mkdir(dir, { recursive: true });
      // The archive is in place before the record that names it: a reader never finds a record
      // without its bytes. Creating the record (`wx`) is the decision; the loser removes its file.
      const file = `${entry._id}.${randomUUID()}.tgz`;
      await writeFile(join(dir, `${file}.tmp`), data);
      await rename(join(dir, `${file}.tmp`), join(dir, file));
      try {
        await writeFile(recordPath(entry._id), JSON.stringify({ ...entry, file } satisfies StoredEntry), {
          flag: 'wx',
        });
        return true;
      } catch (error) {
        await rm(join(dir, file), { force: true });
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    },
    async findCacheEntries(query) {
      const scopes = new Set(query.scopes);
      return (await all())
        .filter((e) => e.pipeline === query.pipeline && e.version === query.version && scopes.has(e.scope))
        .map(recordOf);
    },
    async getCacheEntry(id) {
      const stored = await read(id);
      if (!stored) return null;
      const data = await readFile(join(dir, stored.file)).catch(() => null);
      return data ? { entry: recordOf(stored), data } : null;
    },
    async touchCacheEntry(id, at) {
      const stored = await read(id);
      if (!stored) return;
      const tmp = `${recordPath(id)}.${randomUUID()}.tmp`;
      await writeFile(tmp, JSON.stringify({ ...stored, lastUsedAt: Math.max(stored.lastUsedAt, at) }));
      await rename(tmp, recordPath(id));
    },
    async listCacheEntries(pipeline) {
      return (await all())
        .filter((e) => pipeline === undefined || e.pipeline === pipeline)
        .map(recordOf)
        .sort(byPipelineThenKey);
    },
    async removeCacheEntry(id) {
      const stored = await read(id);
      if (!stored) return false;
      await rm(recordPath(id), { force: true });
      await rm(join(dir, stored.file), { force: true });
      return true;
    },
  };
}
