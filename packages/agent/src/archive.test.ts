import { randomBytes } from 'node:crypto';
import {
  chmod,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packPath, resolveInWorkspace, unpackInto } from './archive.js';

/** A packed path's archive, whole (small trees only). */
async function packed(ws: string, path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await packPath(ws, path)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

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
    await expect(packed(ws, 'outdir/secret.txt')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    await expect(packed(ws, 'outdir')).rejects.toThrow(/leads out of the workspace through a symbolic link/);
    await symlink(join(outside, 'secret.txt'), join(ws, 'file-link'));
    await expect(packed(ws, 'file-link')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
  });

  it('uploads through links that stay inside, and keeps links inside a tree as links', async () => {
    await mkdir(join(ws, 'build/dist'), { recursive: true });
    await writeFile(join(ws, 'build/dist/a.txt'), 'A');
    await symlink(join(ws, 'build'), join(ws, 'out'));
    await symlink('../dist/a.txt', join(ws, 'build/dist/rel'));
    expect((await entries(await packed(ws, 'out/dist/a.txt'))).map((e) => e.path)).toEqual(['out/dist/a.txt']);
    const tree = await entries(await packed(ws, 'build'));
    expect(tree).toContainEqual({ path: 'build/dist/rel', type: 'SymbolicLink' });
  });

  it('refuses to upload a tree holding a link that escapes it, an absolute link, or one with a hidden ".."', async () => {
    await mkdir(join(ws, 'tree/sub'), { recursive: true });
    await mkdir(join(ws, 'src'));
    await symlink('../../src', join(ws, 'tree/sub/up'));
    await expect(packed(ws, 'tree')).rejects.toThrow(
      /link "tree\/sub\/up" points outside the uploaded tree "tree" \(-> "..\/..\/src"\)/,
    );
    await expect(packed(ws, 'tree')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    await rm(join(ws, 'tree/sub/up'));
    await symlink(join(ws, 'tree/sub'), join(ws, 'tree/abs'));
    await expect(packed(ws, 'tree')).rejects.toThrow(/link "tree\/abs" points to an absolute path/);
    await rm(join(ws, 'tree/abs'));
    await symlink('.', join(ws, 'tree/sub/self'));
    await symlink('sub/self/..', join(ws, 'tree/hidden'));
    await expect(packed(ws, 'tree')).rejects.toThrow(/has ".." after a name/);
  });

  it('a tree with relative links, a hard link and an executable file comes back the same', async () => {
    const src = join(ws, 'node_modules');
    await mkdir(join(src, 'pkg/bin'), { recursive: true });
    await mkdir(join(src, '.bin'));
    await writeFile(join(src, 'pkg/bin/cli.js'), '#!/usr/bin/env node\nconsole.log("hi")\n');
    await chmod(join(src, 'pkg/bin/cli.js'), 0o755);
    await writeFile(join(src, 'pkg/data.txt'), 'data');
    await chmod(join(src, 'pkg/data.txt'), 0o644);
    await symlink('../pkg/bin/cli.js', join(src, '.bin/cli'));
    await link(join(src, 'pkg/data.txt'), join(src, 'pkg/hard.txt'));
    const archive = await packed(ws, 'node_modules');
    const kinds = await entries(archive);
    expect(kinds).toContainEqual({ path: 'node_modules/.bin/cli', type: 'SymbolicLink' });
    expect(kinds.filter((e) => e.type === 'Link')).toHaveLength(1);
    const other = join(base, 'other');
    await mkdir(other);
    await unpackInto(other, archive, '.');
    const out = join(other, 'node_modules');
    expect(await readlink(join(out, '.bin/cli'))).toBe('../pkg/bin/cli.js');
    expect((await stat(join(out, 'pkg/bin/cli.js'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(out, 'pkg/data.txt'))).mode & 0o777).toBe(0o644);
    const [a, b] = await Promise.all([lstat(join(out, 'pkg/data.txt')), lstat(join(out, 'pkg/hard.txt'))]);
    expect(b.ino).toBe(a.ino);
    expect(a.nlink).toBe(2);
  });

  it('gzips what compresses and sends incompressible bytes as a plain tar', async () => {
    await writeFile(join(ws, 'text.txt'), 'the same line again\n'.repeat(200_000));
    await writeFile(join(ws, 'random.bin'), randomBytes(2 * 1024 * 1024));
    const text = await packed(ws, 'text.txt');
    const random = await packed(ws, 'random.bin');
    expect([text[0], text[1]]).toEqual([0x1f, 0x8b]);
    expect(text.length).toBeLessThan(100_000);
    expect(random.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    expect(random.length).toBeGreaterThan(2 * 1024 * 1024);
    const other = join(base, 'plain');
    await mkdir(other);
    await unpackInto(other, random, '.');
    expect((await readFile(join(other, 'random.bin'))).equals(await readFile(join(ws, 'random.bin')))).toBe(true);
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

  it('checks while extracting: a refused archive writes none of its entries, even those before the bad one', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'art'), { recursive: true });
    await writeFile(join(src, 'art/a-good.txt'), 'GOOD');
    // One tar refuses itself (a link out), one only the archive rules refuse (".." after a name).
    await symlink('../../outside', join(src, 'art/z-out'));
    await symlink('sub/../a-good.txt', join(src, 'art/z-hidden'));
    await mkdir(join(ws, 'keep'));
    await writeFile(join(ws, 'keep/old.txt'), 'OLD');
    for (const bad of ['art/z-out', 'art/z-hidden']) {
      const archive = await tarOf(src, ['art/a-good.txt', bad]);
      await expect(unpackInto(ws, archive, 'keep')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
      await expect(unpackInto(ws, archive, 'fresh/dir')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
      await expect(unpackInto(ws, archive, '.')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
    }
    // Nothing written, no staging directory left behind (the parent of a new path may remain).
    expect((await readdir(ws)).sort()).toEqual(['fresh', 'keep']);
    expect(await readdir(join(ws, 'fresh'))).toEqual([]);
    expect(await readdir(join(ws, 'keep'))).toEqual(['old.txt']);
  });

  it('merges a download into an existing directory: new entries added, files of the archive replace old ones', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'd/sub'), { recursive: true });
    await writeFile(join(src, 'd/sub/new.txt'), 'NEW');
    await writeFile(join(src, 'd/same.txt'), 'FROM ARCHIVE');
    const archive = await tarOf(src, ['d']);
    await mkdir(join(ws, 'd/sub'), { recursive: true });
    await writeFile(join(ws, 'd/sub/old.txt'), 'OLD');
    await writeFile(join(ws, 'd/same.txt'), 'BEFORE');
    await unpackInto(ws, archive, '.');
    expect((await readdir(join(ws, 'd/sub'))).sort()).toEqual(['new.txt', 'old.txt']);
    expect(await readFile(join(ws, 'd/same.txt'), 'utf8')).toBe('FROM ARCHIVE');
    expect((await readdir(ws)).sort()).toEqual(['d']);
  });

  it('resolves a path that does not exist yet under its real ancestor', async () => {
    await mkdir(join(ws, 'a'));
    await symlink(join(ws, 'a'), join(ws, 'b'));
    const real = await resolveInWorkspace(ws, 'b/new/dir');
    expect(real.endsWith('/ws/a/new/dir')).toBe(true);
    await expect(resolveInWorkspace(ws, '../x')).rejects.toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
  });
});
