import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packPath, resolveInWorkspace, unpackInto } from './archive.js';

/** The entries of a gzipped tar: path and type. */
async function entries(archive: Buffer): Promise<{ path: string; type: string }[]> {
  const out: { path: string; type: string }[] = [];
  await pipeline(
    Readable.from([archive]),
    tar.list({ onReadEntry: (e) => void out.push({ path: e.path, type: e.type }) }) as unknown as NodeJS.WritableStream,
  );
  return out;
}

/** A gzipped tar made of `dir`'s `paths`, as they are (links archived as links). */
async function tarOf(dir: string, paths: string[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of tar.create({ gzip: true, cwd: dir, portable: true }, paths) as unknown as AsyncIterable<Buffer>)
    parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('artifact paths and symbolic links', () => {
  let base: string;
  let ws: string;
  let outside: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'hf-archive-'));
    ws = join(base, 'ws');
    outside = join(base, 'outside');
    await mkdir(ws);
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), 'SECRET');
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it('refuses to upload a path through a linked directory that leaves the workspace', async () => {
    await symlink(outside, join(ws, 'outdir'));
    await expect(packPath(ws, 'outdir/secret.txt')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    await expect(packPath(ws, 'outdir')).rejects.toThrow(/leads out of the workspace through a symbolic link/);
    await symlink(join(outside, 'secret.txt'), join(ws, 'file-link'));
    await expect(packPath(ws, 'file-link')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
  });

  it('uploads through links that stay inside, and keeps links inside a tree as links', async () => {
    await mkdir(join(ws, 'build/dist'), { recursive: true });
    await writeFile(join(ws, 'build/dist/a.txt'), 'A');
    await symlink(join(ws, 'build'), join(ws, 'out'));
    await symlink(outside, join(ws, 'build/dist/escape'));
    expect((await entries(await packPath(ws, 'out/dist/a.txt'))).map((e) => e.path)).toEqual(['out/dist/a.txt']);
    const tree = await entries(await packPath(ws, 'build'));
    expect(tree).toContainEqual({ path: 'build/dist/escape', type: 'SymbolicLink' });
    expect(tree.map((e) => e.path)).not.toContain('build/dist/escape/secret.txt');
  });

  it('refuses to download into a linked directory that leaves the workspace, and writes nothing there', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'art'), { recursive: true });
    await writeFile(join(src, 'art/x.txt'), 'X');
    const archive = await tarOf(src, ['art']);
    await symlink(outside, join(ws, 'into'));
    await expect(unpackInto(ws, archive, 'into')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    await expect(unpackInto(ws, archive, 'into/deeper/new')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    await symlink(join(base, 'nowhere'), join(ws, 'dangling'));
    await expect(unpackInto(ws, archive, 'dangling/x')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
    await expect(readdir(join(base, 'nowhere'))).rejects.toThrow(/ENOENT/);
    // Into a real directory it works.
    await unpackInto(ws, archive, 'fine/here');
    expect(await readFile(join(ws, 'fine/here/art/x.txt'), 'utf8')).toBe('X');
  });

  it('tar extraction does not follow a link out of the workspace, whether it was there or came in the archive', async () => {
    // A link the job left where the archive writes.
    const src = join(base, 'src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'sub/file'), 'F');
    await symlink(outside, join(ws, 'sub'));
    await expect(unpackInto(ws, await tarOf(src, ['sub/file']), '.')).rejects.toMatchObject({
      code: 'HF_ARTIFACT_INVALID',
    });
    // A link in the archive that points out of the extraction directory.
    const evil = join(base, 'evil');
    await mkdir(evil);
    // Relative, so that it would point outside once extracted (tar refuses absolute link targets).
    await symlink('../outside', join(evil, 'lnk'));
    const other = join(base, 'ws2');
    await mkdir(other);
    await expect(unpackInto(other, await tarOf(evil, ['lnk']), '.')).rejects.toMatchObject({
      code: 'HF_ARTIFACT_INVALID',
    });
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
  });

  it('resolves a path that does not exist yet under its real ancestor', async () => {
    await mkdir(join(ws, 'a'));
    await symlink(join(ws, 'a'), join(ws, 'b'));
    const real = await resolveInWorkspace(ws, 'b/new/dir');
    expect(real.endsWith('/ws/a/new/dir')).toBe(true);
    await expect(resolveInWorkspace(ws, '../x')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
  });
});
