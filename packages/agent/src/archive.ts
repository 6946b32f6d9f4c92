import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, normalize, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactInvalidError, isHiveForgeError } from '@hiveforge/sdk';
import * as tar from 'tar';

/** Resolves a workspace-relative path, refusing absolute paths and `..`. */
export function insideWorkspace(workspace: string, path: string): string {
  const clean = normalize(path).replace(/\/+$/, '');
  if (path.startsWith('/') || clean === '..' || clean.startsWith('../') || clean.split('/').includes('..')) {
    throw new ArtifactInvalidError(`"${path}" must be a path inside the workspace`);
  }
  return clean === '' || clean === '.' ? workspace : join(workspace, clean);
}

const isInside = (root: string, real: string) =>
  real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Resolves a workspace-relative path through the links on its way (realpath), against the
 * workspace's own real path: a path that leaves the workspace through a symbolic link (a linked
 * directory on the way, or the path itself a link) is refused with `HF_ARTIFACT_INVALID`. The
 * path need not exist: its deepest existing ancestor is resolved and the rest appended.
 * @returns the real path
 */
export async function resolveInWorkspace(workspace: string, path: string): Promise<string> {
  const lexical = insideWorkspace(workspace, path);
  const root = await realpath(workspace);
  const rest: string[] = [];
  for (let at = lexical; ; at = dirname(at)) {
    let real: string;
    try {
      real = await realpath(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || at === workspace) throw error;
      // A link to nowhere would be created (or written through) where it points: refuse it.
      if (
        await lstat(at).then(
          (s) => s.isSymbolicLink(),
          () => false,
        )
      )
        throw new ArtifactInvalidError(`"${path}" goes through a link to a missing target, outside the workspace`);
      rest.unshift(basename(at));
      continue;
    }
    if (!isInside(root, real))
      throw new ArtifactInvalidError(`"${path}" leads out of the workspace through a symbolic link (to ${real})`);
    return rest.length ? join(real, ...rest) : real;
  }
}

/** Packs a workspace-relative file or directory into a gzipped tar, entries relative to the workspace. */
export async function packPath(workspace: string, path: string): Promise<Buffer> {
  const target = insideWorkspace(workspace, path);
  await stat(target).catch(() => {
    throw new ArtifactInvalidError(`cannot upload "${path}": it does not exist in the workspace`);
  });
  // Links on the way must stay inside; links inside the packed tree are archived as links.
  await resolveInWorkspace(workspace, path);
  const rel = target === workspace ? '.' : target.slice(workspace.length + 1);
  const parts: Buffer[] = [];
  const stream = tar.create({ gzip: true, cwd: workspace, portable: true }, [rel]) as unknown as AsyncIterable<
    Buffer | string
  >;
  for await (const chunk of stream) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}

/**
 * Extracts a gzipped tar into a workspace-relative directory. The directory must not lead out of
 * the workspace through a link; unsafe entries (absolute, `..`, or written through a link) are
 * refused by tar, as `HF_ARTIFACT_INVALID`.
 */
export async function unpackInto(workspace: string, archive: Buffer, path: string): Promise<void> {
  const dest = await resolveInWorkspace(workspace, path);
  await mkdir(dest, { recursive: true });
  // Checked again once it exists: a link made on its way meanwhile is caught here.
  const real = await resolveInWorkspace(workspace, path);
  try {
    await pipeline(
      Readable.from([archive]),
      tar.extract({ cwd: real, strict: true }) as unknown as NodeJS.WritableStream,
    );
  } catch (error) {
    const e = error as { code?: string; message?: string };
    // Only what the archive is to blame for (tar's and zlib's refusals) is the artifact's fault.
    if (isHiveForgeError(error) || !/^(TAR_|Z_)/.test(e.code ?? '')) throw error;
    throw new ArtifactInvalidError(
      `cannot unpack into "${path}": ${e.code === 'TAR_SYMLINK_ERROR' ? 'an entry would be written through a symbolic link' : (e.message ?? String(error))}`,
      { cause: error },
    );
  }
}
