/**
 * The archive of a cache entry: one gzipped tar holding each of the entry's paths under its
 * index (`d0/…` for a directory, `f1/<name>` for a file), so an entry restores into the paths as
 * the restoring job resolves them (another job's home, another workspace), not where it was made.
 */
import { lstat, mkdir } from 'node:fs/promises';
import { basename, dirname, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactInvalidError } from '@hiveforge/sdk';
import * as tar from 'tar';

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

/**
 * Packs the roots that exist into one gzipped tar (see the module comment); null when none
 * exists. Symbolic links are kept as links; hard links are stored as separate files.
 */
export async function packCacheRoots(roots: readonly CacheRoot[]): Promise<Buffer | null> {
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
  const parts: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) parts.push(chunk);
  })();
  for (const root of present) pack.add(root.host);
  pack.end();
  await collected;
  return Buffer.concat(parts);
}

/**
 * Restores an entry's archive into its roots: `d<i>/…` into root i (created), `f<i>/<name>`
 * beside root i. Entries that would leave their root (absolute, `..`, through a link) are
 * refused by tar, as `HF_ARTIFACT_INVALID`.
 * @returns the number of files restored
 */
export async function unpackCacheRoots(archive: Buffer, roots: readonly CacheRoot[]): Promise<number> {
  const kinds = new Map<string, number>();
  await pipeline(
    Readable.from([archive]),
    new tar.Parser({
      onReadEntry: (entry) => {
        const top = entry.path.split('/')[0] ?? '';
        kinds.set(top, (kinds.get(top) ?? 0) + (entry.type === 'File' ? 1 : 0));
        entry.resume();
      },
    }) as unknown as NodeJS.WritableStream,
  );
  let files = 0;
  for (const [top, count] of kinds) {
    const match = /^([df])(\d+)$/.exec(top);
    const root = match ? roots[Number(match[2])] : undefined;
    if (!match || !root) throw new ArtifactInvalidError(`the cache archive holds "${top}", which is none of its paths`);
    const cwd = match[1] === 'd' ? root.host : dirname(root.host);
    await mkdir(cwd, { recursive: true });
    try {
      await pipeline(
        Readable.from([archive]),
        tar.extract({
          cwd,
          strict: true,
          strip: 1,
          filter: (path) => path === top || path.startsWith(`${top}/`),
        }) as unknown as NodeJS.WritableStream,
      );
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
