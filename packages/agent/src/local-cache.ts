/**
 * The agent's own copy of the cache entries it recently restored or saved, so that a warm agent
 * restores without a transfer. Files are named by entry id and content hash (an entry's bytes
 * never change, and a replaced entry has another hash), kept under a byte limit, least recently
 * used removed first.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';

/** Options of {@link createLocalCache}. */
export interface LocalCacheOptions {
  /** Where the entries are kept (created when first used). */
  dir: string;
  /** The most bytes kept; 0 keeps nothing. @default DEFAULT_LOCAL_CACHE_BYTES (2 GiB) */
  limitBytes?: number;
}

/** The agent's local cache by default holds up to 2 GiB. */
export const DEFAULT_LOCAL_CACHE_BYTES = 2 * 1024 ** 3;

/** Cache entries this agent keeps on its disk. */
export interface LocalCache {
  /**
   * The file of the entry's archive, when kept and intact (its hash checked); marks it as just
   * used. Read it before the next `put`, which may remove it.
   */
  get(entryId: string, sha256: string): Promise<string | null>;
  /** Keeps a copy of an entry's archive file, then removes the least recently used past the limit. */
  put(entryId: string, sha256: string, file: string): Promise<void>;
}

const SAFE = /[^A-Za-z0-9_.-]/g;
const fileOf = (dir: string, entryId: string, sha256: string) =>
  join(dir, `${entryId.replace(SAFE, '_').slice(0, 64)}-${sha256.replace(SAFE, '_').slice(0, 64)}.tgz`);

/** Creates the local cache in `options.dir`. */
export function createLocalCache(options: LocalCacheOptions): LocalCache {
  const limit = options.limitBytes ?? DEFAULT_LOCAL_CACHE_BYTES;
  const prune = async () => {
    const names = await readdir(options.dir).catch(() => [] as string[]);
    const files = (
      await Promise.all(
        names
          .filter((n) => n.endsWith('.tgz'))
          .map(async (n) => {
            const s = await stat(join(options.dir, n)).catch(() => null);
            return s ? { path: join(options.dir, n), size: s.size, usedAt: s.mtimeMs } : null;
          }),
      )
    ).filter((f) => f !== null);
    let total = files.reduce((sum, f) => sum + f.size, 0);
    for (const file of files.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= limit) break;
      await rm(file.path, { force: true });
      total -= file.size;
    }
  };
  return {
    async get(entryId, sha256) {
      const path = fileOf(options.dir, entryId, sha256);
      const hash = createHash('sha256');
      try {
        for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
      } catch {
        return null;
      }
      if (hash.digest('hex') !== sha256) {
        await rm(path, { force: true });
        return null;
      }
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return path;
    },
    async put(entryId, sha256, file) {
      const { size } = await stat(file);
      if (size > limit) return;
      await mkdir(options.dir, { recursive: true });
      const path = fileOf(options.dir, entryId, sha256);
      const tmp = `${path}.${randomUUID()}.tmp`;
      await copyFile(file, tmp);
      await rename(tmp, path);
      await prune();
    },
  };
}
