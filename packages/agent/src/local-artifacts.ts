/**
 * The archives of the artifacts an agent uploaded, kept on its disk for the rest of its life, so
 * that a later job of the same run on the same agent (install, then lint, types, test and build,
 * all on the embedded agent of `hiveforge run`) extracts the artifact from the file it already
 * has instead of downloading it: it still asks the coordinator, which answers "not modified"
 * when the artifact is still those bytes (its SHA-256). The spool file an upload was sent from
 * (hashed as it was written) is moved here, not copied, into a directory only the agent's user
 * may enter; a file that is no longer the one kept (another inode, size or modification time)
 * is not used. Its bytes are not hashed again: that costs ~0.1 s of the agent's thread per
 * 90 MB, and what could change them in place could change the agent itself. The least
 * recently used go first past the byte limit.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpooledArchive } from './artifact-spool.js';

/** By default an agent keeps up to 1 GiB of the archives it uploaded. */
export const DEFAULT_LOCAL_ARTIFACT_BYTES = 1024 ** 3;

/** Options of {@link createLocalArtifacts}. */
export interface LocalArtifactsOptions {
  /** Where the archives are kept: emptied by `clear`, which the agent calls as it starts and stops. */
  dir: string;
  /** The most bytes kept; 0 keeps nothing. @default DEFAULT_LOCAL_ARTIFACT_BYTES (1 GiB) */
  limitBytes?: number;
}

/** A kept archive: its file, size and SHA-256. */
export type KeptArchive = SpooledArchive;

/** What identifies the file kept: it is used only while it is still that file. */
interface Kept extends KeptArchive {
  ino: number;
  mtimeMs: number;
}

/** Archives of artifacts this agent uploaded, by run and name. */
export interface LocalArtifacts {
  /**
   * Takes over the spool file an artifact was uploaded from (moving it), or removes it when it
   * is larger than the limit; evicts the least recently used past the limit.
   */
  keep(runId: string, name: string, archive: SpooledArchive): Promise<void>;
  /** The kept archive of an artifact (marked as just used), or null (also when its file changed). */
  find(runId: string, name: string): Promise<KeptArchive | null>;
  /** Forgets an artifact's archive and removes its file (it proved stale or damaged). */
  drop(runId: string, name: string): Promise<void>;
  /** Removes every kept archive. */
  clear(): Promise<void>;
}

/** Creates the agent's store of uploaded archives in `options.dir`. */
export function createLocalArtifacts(options: LocalArtifactsOptions): LocalArtifacts {
  const limit = options.limitBytes ?? DEFAULT_LOCAL_ARTIFACT_BYTES;
  /** In use order: the first is the least recently used. */
  const kept = new Map<string, Kept>();
  const keyOf = (runId: string, name: string) => `${runId}\n${name}`;
  let total = 0;
  const forget = async (key: string) => {
    const archive = kept.get(key);
    if (!archive) return;
    kept.delete(key);
    total -= archive.size;
    await rm(archive.file, { force: true });
  };
  return {
    async keep(runId, name, archive) {
      const key = keyOf(runId, name);
      await forget(key);
      if (archive.size > limit) {
        await rm(archive.file, { force: true });
        return;
      }
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      const file = join(options.dir, `${randomUUID()}.tar`);
      await rename(archive.file, file);
      const s = await stat(file);
      if (s.size !== archive.size) {
        await rm(file, { force: true });
        return;
      }
      kept.set(key, { file, size: archive.size, sha256: archive.sha256, ino: s.ino, mtimeMs: s.mtimeMs });
      total += archive.size;
      for (const oldest of kept.keys()) {
        if (total <= limit) break;
        await forget(oldest);
      }
    },
    async find(runId, name) {
      const key = keyOf(runId, name);
      const archive = kept.get(key);
      if (!archive) return null;
      const s = await stat(archive.file).catch(() => null);
      if (!s || s.ino !== archive.ino || s.size !== archive.size || s.mtimeMs !== archive.mtimeMs) {
        await forget(key);
        return null;
      }
      kept.delete(key);
      kept.set(key, archive);
      return { file: archive.file, size: archive.size, sha256: archive.sha256 };
    },
    drop: (runId, name) => forget(keyOf(runId, name)),
    async clear() {
      kept.clear();
      total = 0;
      await rm(options.dir, { recursive: true, force: true });
    },
  };
}
