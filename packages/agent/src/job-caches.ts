/**
 * The caches of one job attempt: `ctx.cache` restores (from the agent's local cache when it
 * holds the entry, else from the coordinator) and registers a save that runs once the job's
 * body succeeded. A failed restore or save is a warning in the job's log, never the job's
 * failure; only a malformed request (`HF_CACHE_INVALID`) fails the job.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type CacheOptions, type CacheResult, checkCacheOptions, formatBytes, isHiveForgeError } from '@hiveforge/sdk';
import { type CacheRoot, packCacheRoots, unpackCacheRoots } from './cache-archive.js';
import type { CacheClient } from './cache-client.js';
import type { JobEnvironment } from './executors/types.js';
import type { LocalCache } from './local-cache.js';

/** What {@link createJobCaches} needs. */
export interface JobCachesDeps {
  client: CacheClient;
  /** The agent's local cache; null keeps none. */
  local: LocalCache | null;
  /**
   * Where archives are written on their way (outside the workspace: no job sees them, no quota
   * counts them); each is removed once restored or saved.
   */
  spoolDir: string;
  jobId: string;
  attempt: number;
  /** Writes a line to the job's log. */
  log: (line: string) => void;
  /** Calls to the coordinator go through the job's retry. */
  retry: <T>(call: () => Promise<T>) => Promise<T>;
}

/** The caches of one job attempt. */
export interface JobCaches {
  /** `ctx.cache` in the given environment. */
  restore(env: JobEnvironment, options: CacheOptions): Promise<CacheResult>;
  /** Saves what `restore` registered; called once the job's body succeeded. */
  saveAll(): Promise<void>;
}

/** The version of an entry: a hash of its paths, so a restore naming other paths misses. */
export const cacheVersionOf = (paths: readonly string[]): string =>
  createHash('sha256')
    .update(JSON.stringify(['hiveforge-cache-v1', ...paths]))
    .digest('hex');

const describe = (error: unknown) =>
  isHiveForgeError(error) ? `${error.code}: ${error.message}` : ((error as Error).message ?? String(error));

/** Creates the caches of one job attempt. */
export function createJobCaches(deps: JobCachesDeps): JobCaches {
  const saves: { key: string; version: string; roots: CacheRoot[] }[] = [];
  const attempt = { jobId: deps.jobId, attempt: deps.attempt };
  const spoolFile = async () => {
    await mkdir(deps.spoolDir, { recursive: true, mode: 0o700 });
    return join(deps.spoolDir, `${randomUUID()}.tgz`);
  };
  return {
    async restore(env, options) {
      const checked = checkCacheOptions(options);
      const shared = checked.skipHostHome ? checked.paths.find((p) => env.isHostHome?.(p) === true) : undefined;
      if (shared !== undefined) {
        deps.log(
          `cache ${checked.key}: "${shared}" is in this host's own home directory (process executor), already in place and kept between jobs; not restored or saved`,
        );
        return { hit: 'miss', key: null };
      }
      const roots: CacheRoot[] = [];
      for (const path of checked.paths) {
        const host = env.cachePath?.(path) ?? null;
        if (host === null) {
          deps.log(
            `warning: cache ${checked.key}: this executor cannot reach "${path}" (only paths on the agent's host are cached: the workspace, and with docker the job's home); not cached`,
          );
          return { hit: 'miss', key: null };
        }
        roots.push({ path, host });
      }
      const version = cacheVersionOf(checked.paths);
      if (checked.save) saves.push({ key: checked.key, version, roots });
      const started = Date.now();
      let spooled: string | null = null;
      try {
        const found = await deps.retry(() =>
          deps.client.restore({ ...attempt, key: checked.key, restoreKeys: checked.restoreKeys, version }),
        );
        if (found.hit === 'miss' || !found.entry) {
          deps.log(`cache ${checked.key}: no entry to restore`);
          return { hit: 'miss', key: null };
        }
        const entry = found.entry;
        let archive = (await deps.local?.get(entry._id, entry.sha256)) ?? null;
        const from = archive ? "this agent's local cache (no transfer)" : 'the coordinator';
        if (!archive) {
          const file = await spoolFile();
          spooled = file;
          await deps.retry(() => deps.client.download({ ...attempt, entry, file }));
          await deps.local?.put(entry._id, entry.sha256, file).catch(() => {});
          archive = file;
        }
        const files = await unpackCacheRoots(archive, roots);
        // An exact hit is saved already, and a key is never overwritten: no save.
        const registered = saves.findIndex((s) => s.key === checked.key && s.version === version);
        if (found.hit === 'exact' && registered >= 0) saves.splice(registered, 1);
        deps.log(
          `cache ${checked.key}: restored ${found.hit === 'exact' ? 'exact' : `prefix match ${entry.key}`} (${formatBytes(entry.size)}, ${files} files) from ${from} in ${Date.now() - started} ms`,
        );
        return { hit: found.hit, key: entry.key };
      } catch (error) {
        deps.log(`warning: cache ${checked.key}: not restored: ${describe(error)}`);
        return { hit: 'miss', key: null };
      } finally {
        if (spooled) await rm(spooled, { force: true });
      }
    },
    async saveAll() {
      for (const save of saves.splice(0)) {
        const file = await spoolFile();
        try {
          const started = Date.now();
          const archive = await packCacheRoots(save.roots, file);
          if (!archive) {
            deps.log(`cache ${save.key}: nothing to save (none of its paths exists)`);
            continue;
          }
          const saved = await deps.retry(() =>
            deps.client.save({ ...attempt, key: save.key, version: save.version, file, ...archive }),
          );
          if (!saved.saved) {
            deps.log(`cache ${save.key}: already saved by another job; kept as it is`);
            continue;
          }
          await deps.local?.put(saved.entry._id, saved.entry.sha256, file).catch(() => {});
          const evicted = saved.evicted ? `; ${saved.evicted} least recently used entries evicted` : '';
          deps.log(`cache ${save.key}: saved (${formatBytes(archive.size)}) in ${Date.now() - started} ms${evicted}`);
        } catch (error) {
          deps.log(`warning: cache ${save.key}: not saved: ${describe(error)}`);
        } finally {
          await rm(file, { force: true });
        }
      }
    },
  };
}
