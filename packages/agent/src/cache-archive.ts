/**
 * The archive of a cache entry: one gzipped tar holding each of the entry's paths under its
 * index (`d0/…` for a directory, `f1/<name>` for a file), so an entry restores into the paths as
 * the restoring job resolves them (another job's home, another workspace), not where it was made.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { basename, dirname, sep } from 'node:path';
import { ArtifactInvalidError } from '@hiveforge/sdk';
import * as tar from 'tar';
import { spoolTo } from './artifact-spool.js';

/** One path of a cache entry: as the job wrote it, and where it is on the agent's host. */
export interface CacheRoot {
  path: string;
  host: string;
}

/** A link cache that remembers nothing: hard links are archived as the files they are. */
class NoLinks extends Map<`${number}:${number}`, string> {
  override set(): this {
    return this;
  }
}

/** An archive written to a file: its size and SHA-256 (hex). */
export interface PackedCache {
  size: number;
  sha256: string;
}

/**
 * Packs the roots that exist into one gzipped tar written to `file` (created, never
 * overwritten; see the module comment), streamed and hashed on its way; null, with no file,
 * when none exists. Symbolic links are kept as links; hard links are stored as separate files.
 */
export async function packCacheRoots(roots: readonly CacheRoot[], file: string): Promise<PackedCache | null> {
  const present: { index: number; host: string; dir: boolean }[] = [];
  for (const [index, root] of roots.entries()) {
    const stats = await lstat(root.host).catch(() => null);
    if (stats && (stats.isDirectory() || stats.isFile()))
      present.push({ index, host: root.host, dir: stats.isDirectory() });
  }
  if (!present.length) return null;
  const nameOf = (absolute: string): string | null => {
    for (const root of present) {
      if (absolute === root.host) return root.dir ? `d${root.index}` : `f${root.index}/${basename(root.host)}`;
      if (root.dir && absolute.startsWith(root.host + sep))
        return `d${root.index}/${absolute.slice(root.host.length + 1)}`;
    }
    return null;
  };
  const pack = new tar.Pack({
    gzip: true,
    portable: true,
    cwd: '/',
    linkCache: new NoLinks(),
    onWriteEntry: (entry) => {
      const name = nameOf(entry.absolute);
      if (name !== null) entry.path = entry.type === 'Directory' ? `${name}/` : name;
    },
  });
  const written = spoolTo(pack as unknown as NodeJS.ReadableStream, file);
  for (const root of present) pack.add(root.host);
  pack.end();
  const { size, sha256 } = await written;
  return { size, sha256 };
}

/**
 * Restores an entry's archive (the gzipped tar in `file`) into its roots: `d<i>/…` into root i
 * (created), `f<i>/<name>` beside root i. Entries that would leave their root (absolute, `..`,
 * through a link) are refused by tar, as `HF_ARTIFACT_INVALID`.
 * @returns the number of files restored
 */
export async function unpackCacheRoots(file: string, roots: readonly CacheRoot[]): Promise<number> {
  const kinds = new Map<string, number>();
  try {
    await tar.list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        const top = entry.path.split('/')[0] ?? '';
        kinds.set(top, (kinds.get(top) ?? 0) + (entry.type === 'File' ? 1 : 0));
      },
    });
  } catch (error) {
    throw new ArtifactInvalidError(`the cache archive is not a readable .tar.gz: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let files = 0;
  for (const [top, count] of kinds) {
    const match = /^([df])(\d+)$/.exec(top);
    const root = match ? roots[Number(match[2])] : undefined;
    if (!match || !root) throw new ArtifactInvalidError(`the cache archive holds "${top}", which is none of its paths`);
    const cwd = match[1] === 'd' ? root.host : dirname(root.host);
    await mkdir(cwd, { recursive: true });
    try {
      await tar.extract({
        file,
        cwd,
        strict: true,
        strip: 1,
        filter: (path) => path === top || path.startsWith(`${top}/`),
      });
    } catch (error) {
      const e = error as { code?: string; message?: string };
      if (!/^(TAR_|Z_)/.test(e.code ?? '')) throw error;
      throw new ArtifactInvalidError(`cannot restore the cache into "${root.path}": ${e.message ?? String(error)}`, {
        cause: error,
      });
    }
    files += count;
  }
  return files;
}
