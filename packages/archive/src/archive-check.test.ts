import { link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkArchive, createArchiveCheck } from './archive-check.js';

async function archive(cwd: string, paths: string[], options: { preservePaths?: boolean } = {}): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of tar.create(
    { gzip: true, cwd, portable: true, ...options },
    paths,
  ) as unknown as AsyncIterable<Buffer>)
    parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

describe('artifact archive checks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-archive-'));
    await mkdir(join(dir, 'work/dist'), { recursive: true });
    await writeFile(join(dir, 'work/dist/a.txt'), 'a');
    await writeFile(join(dir, 'outside.txt'), 'secret');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts an archive of relative paths and lists its entries', async () => {
    expect(await checkArchive(await archive(join(dir, 'work'), ['dist']))).toEqual(['dist/', 'dist/a.txt']);
  });

  it('accepts links that stay inside and hard links; refuses links leaving, absolute or with a hidden ".."', async () => {
    const work = join(dir, 'links');
    await mkdir(join(work, 'node_modules/pkg/bin'), { recursive: true });
    await mkdir(join(work, 'node_modules/.bin'));
    await writeFile(join(work, 'node_modules/pkg/bin/cli.js'), 'x');
    await symlink('../pkg/bin/cli.js', join(work, 'node_modules/.bin/cli'));
    await link(join(work, 'node_modules/pkg/bin/cli.js'), join(work, 'node_modules/pkg/hard.js'));
    const entries = await checkArchive(await archive(work, ['node_modules']));
    expect(entries).toContain('node_modules/.bin/cli');
    expect(entries).toContain('node_modules/pkg/hard.js');
    await symlink('../../../etc/passwd', join(work, 'node_modules/.bin/up'));
    await expect(checkArchive(await archive(work, ['node_modules']))).rejects.toThrow(
      /link "node_modules\/.bin\/up" points outside the archive/,
    );
    await rm(join(work, 'node_modules/.bin/up'));
    await symlink('/etc/passwd', join(work, 'node_modules/abs'));
    await expect(checkArchive(await archive(work, ['node_modules']))).rejects.toMatchObject({
      code: 'HF_ARTIFACT_INVALID',
      message: expect.stringMatching(/link "node_modules\/abs" points to an absolute path/),
    });
  });

  it('refuses entries with ..', async () => {
    const bad = await archive(join(dir, 'work'), ['../outside.txt'], { preservePaths: true });
    await expect(checkArchive(bad)).rejects.toThrow(/unsafe path "..\/outside.txt"/);
  });

  it('refuses absolute entries', async () => {
    const bad = await archive('/', [join(dir, 'outside.txt')], { preservePaths: true });
    await expect(checkArchive(bad)).rejects.toThrow(/unsafe path "\//);
  });

  it('refuses bytes that are not a gzipped tar', async () => {
    await expect(checkArchive(Buffer.from('definitely not a tarball'))).rejects.toThrow(/not a valid tar archive/);
  });

  it('with a root (the uploaded path), refuses entries outside it and counts the entries it passes', async () => {
    await mkdir(join(dir, 'work/other'), { recursive: true });
    await writeFile(join(dir, 'work/other/b.txt'), 'b');
    const through = async (data: Buffer, root: string) => {
      let counted = -1;
      const check = createArchiveCheck({ root, maxPaths: 1, onEntries: (n) => (counted = n) });
      const out: Buffer[] = [];
      await pipeline(Readable.from([data]), check, async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) out.push(chunk);
      });
      return { counted, count: check.count(), entries: check.entries(), same: Buffer.concat(out).equals(data) };
    };
    const inside = await archive(join(dir, 'work'), ['dist']);
    expect(await through(inside, 'dist')).toEqual({ counted: 2, count: 2, entries: ['dist/'], same: true });
    await expect(through(await archive(join(dir, 'work'), ['dist', 'other']), 'dist')).rejects.toMatchObject({
      code: 'HF_ARTIFACT_INVALID',
      message: expect.stringContaining('"other/" is outside the uploaded tree "dist"'),
    });
  });
});
