import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';

/** How much of a file is read at once: a large file streams in pieces this size. */
const READ_BYTES = 1024 * 1024;

/** The paths of a tree, depth first, each directory's entries in name order. */
async function* walk(cwd: string, path: string): AsyncGenerator<string> {
  if (path !== '.') yield path;
  const stat = await lstat(join(cwd, path));
  if (!stat.isDirectory()) return;
  for (const name of (await readdir(join(cwd, path))).sort()) yield* walk(cwd, path === '.' ? name : `${path}/${name}`);
}

/**
 * A tar stream of `path` (relative to `cwd`, entries named relative to it), written one entry
 * at a time in name order: symbolic links as links, a file's second name as a hard link to its
 * first, modes kept, owners left out (`portable`).
 *
 * Not `tar.create`: its packer (node-tar 7.5.14 and later) fails on hard links, ending the
 * archive before the deferred link entries and throwing "write after end"
 * (isaacs/node-tar#458, #460). Entries in name order also make equal trees equal archives.
 */
export function createTarStream(
  cwd: string,
  path: string,
  options: {
    /**
     * Called with each entry as it is written (its header known, before its data): a check of
     * what goes into the archive without parsing the archive again.
     */
    onEntry?: (entry: { path: string; type: string; linkpath?: string }) => void;
  } = {},
): Readable {
  const linkCache = new Map<string, string>();
  const statCache = new Map();
  return Readable.from(
    (async function* () {
      for await (const entryPath of walk(cwd, path)) {
        const entry = new tar.WriteEntry(entryPath, {
          cwd,
          portable: true,
          linkCache: linkCache as never,
          statCache,
          maxReadSize: READ_BYTES,
        });
        let first = true;
        for await (const chunk of entry as unknown as AsyncIterable<Buffer>) {
          if (first) {
            first = false;
            options.onEntry?.({ path: entry.path, type: entry.type ?? '', linkpath: entry.linkpath || undefined });
          }
          yield chunk;
        }
      }
      // The end of an archive: two empty blocks.
      yield Buffer.alloc(1024);
    })(),
    { objectMode: false },
  );
}
