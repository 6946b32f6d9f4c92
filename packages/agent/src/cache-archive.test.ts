import { createHash } from 'node:crypto';
import { link, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packCacheRoots, unpackCacheRoots } from './cache-archive.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hf-cache-archive-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cache archives', () => {
  it('restore each path where the restoring job resolves it, not where it was saved', async () => {
    const home1 = join(dir, 'home1');
    await mkdir(join(home1, '.npm', '_cacache', 'index'), { recursive: true });
    await writeFile(join(home1, '.npm', '_cacache', 'index', 'a'), 'entry a');
    await symlink('index/a', join(home1, '.npm', '_cacache', 'latest'));
    await link(join(home1, '.npm', '_cacache', 'index', 'a'), join(home1, '.npm', '_cacache', 'hard'));
    await writeFile(join(dir, 'tool.lock'), 'lock');
    const file = join(dir, 'entry.tgz');
    const archive = await packCacheRoots(
      [
        { path: '~/.npm', host: join(home1, '.npm') },
        { path: 'tool.lock', host: join(dir, 'tool.lock') },
        { path: 'missing', host: join(dir, 'missing') },
      ],
      file,
    );
    const bytes = await readFile(file);
    expect(archive).toEqual({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const home2 = join(dir, 'home2');
    const ws2 = join(dir, 'ws2');
    const files = await unpackCacheRoots(file, [
      { path: '~/.npm', host: join(home2, '.npm') },
      { path: 'tool.lock', host: join(ws2, 'tool.lock') },
      { path: 'missing', host: join(ws2, 'missing') },
    ]);
    expect(files).toBe(3);
    expect(await readFile(join(home2, '.npm', '_cacache', 'index', 'a'), 'utf8')).toBe('entry a');
    expect(await readFile(join(home2, '.npm', '_cacache', 'hard'), 'utf8')).toBe('entry a');
    expect(await readlink(join(home2, '.npm', '_cacache', 'latest'))).toBe('index/a');
    expect(await readFile(join(ws2, 'tool.lock'), 'utf8')).toBe('lock');
  });

  it('nothing to pack when no path exists', async () => {
    expect(await packCacheRoots([{ path: 'x', host: join(dir, 'x') }], join(dir, 'x.tgz'))).toBeNull();
    await expect(readFile(join(dir, 'x.tgz'))).rejects.toThrow(/ENOENT/);
  });

  it('an entry that leaves its path is refused', async () => {
    await mkdir(join(dir, 'src', 'd0'), { recursive: true });
    await writeFile(join(dir, 'src', 'evil'), 'x');
    const parts: Buffer[] = [];
    for await (const c of tar.create({ gzip: true, cwd: join(dir, 'src'), preservePaths: true }, [
      'd0',
      'd0/../evil',
    ]) as unknown as AsyncIterable<Buffer>)
      parts.push(c);
    await writeFile(join(dir, 'evil.tgz'), Buffer.concat(parts));
    await expect(unpackCacheRoots(join(dir, 'evil.tgz'), [{ path: 'p', host: join(dir, 'dest') }])).rejects.toThrow(
      /HF_ARTIFACT_INVALID|cannot restore|none of its paths/,
    );
    // Nothing was written beside the path it was restored into.
    await expect(readFile(join(dir, 'evil'), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
