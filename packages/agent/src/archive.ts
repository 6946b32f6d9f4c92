import { mkdir, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactInvalidError } from '@hiveforge/sdk';
import * as tar from 'tar';

/** Resolves a workspace-relative path, refusing absolute paths and `..`. */
export function insideWorkspace(workspace: string, path: string): string {
  const clean = normalize(path).replace(/\/+$/, '');
  if (path.startsWith('/') || clean === '..' || clean.startsWith('../') || clean.split('/').includes('..')) {
    throw new ArtifactInvalidError(`"${path}" must be a path inside the workspace`);
  }
  return clean === '' || clean === '.' ? workspace : join(workspace, clean);
}

/** Packs a workspace-relative file or directory into a gzipped tar, entries relative to the workspace. */
export async function packPath(workspace: string, path: string): Promise<Buffer> {
  const target = insideWorkspace(workspace, path);
  await stat(target).catch(() => {
    throw new ArtifactInvalidError(`cannot upload "${path}": it does not exist in the workspace`);
  });
  const rel = target === workspace ? '.' : target.slice(workspace.length + 1);
  const parts: Buffer[] = [];
  const stream = tar.create({ gzip: true, cwd: workspace, portable: true }, [rel]) as unknown as AsyncIterable<
    Buffer | string
  >;
  for await (const chunk of stream) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}

/** Extracts a gzipped tar into a workspace-relative directory; unsafe entries are refused by tar. */
export async function unpackInto(workspace: string, archive: Buffer, path: string): Promise<void> {
  const dest = insideWorkspace(workspace, path);
  await mkdir(dest, { recursive: true });
  await pipeline(
    Readable.from([archive]),
    tar.extract({ cwd: dest, strict: true }) as unknown as NodeJS.WritableStream,
  );
}
