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
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TarFormatError, extractTar } from './tar-extract.js';
import { createTarStream } from './tar-stream.js';

const allowAll = () => null;

/** The bytes of a stream, whole. */
async function bytesOf(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** `data` cut into pieces of `size` bytes, as a stream delivers it. */
async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/** A raw tar entry: its header block and its data padded to the block. */
function entry(path: string, type: 'File' | 'SymbolicLink', data = Buffer.alloc(0), linkpath?: string): Buffer {
  const header = new tar.Header({ path, type, size: data.length, mode: 0o644, linkpath, mtime: new Date(0) });
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([block, data, pad]);
}

describe('extractTar', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'hf-tar-extract-'));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  it('writes back a packed tree: data across chunk edges, long paths, modes, mtimes, links and hard links', async () => {
    const src = join(base, 'src');
    const long = `${'deep-directory-name/'.repeat(8)}file-with-a-long-name.txt`;
    await mkdir(join(src, 'tree/bin'), { recursive: true });
    await mkdir(join(src, 'tree', long, '..'), { recursive: true });
    const big = randomBytes(200 * 1024 + 123);
    await writeFile(join(src, 'tree/big.bin'), big);
    await writeFile(join(src, 'tree/empty'), '');
    await writeFile(join(src, 'tree', long), 'LONG');
    await writeFile(join(src, 'tree/bin/run'), '#!/bin/sh\necho ran\n');
    await chmod(join(src, 'tree/bin/run'), 0o755);
    await utimes(join(src, 'tree/bin/run'), new Date(1_000_000_000), new Date(1_000_000_000));
    await symlink('bin/run', join(src, 'tree/run-link'));
    await link(join(src, 'tree/big.bin'), join(src, 'tree/big-again.bin'));
    const archive = await bytesOf(createTarStream(src, 'tree') as AsyncIterable<Buffer>);

    // Pieces of 13 bytes cut headers, pax records and data anywhere: the parser's state survives every edge.
    for (const size of [13, 511, 4096, 1024 * 1024]) {
      const out = join(base, `out-${size}`);
      await mkdir(out);
      const result = await extractTar(pieces(archive, size), out, { check: allowAll });
      expect(result.problems).toEqual([]);
      expect(result.entries).toBe(16);
      expect((await readFile(join(out, 'tree/big.bin'))).equals(big)).toBe(true);
      expect(await readFile(join(out, 'tree', long), 'utf8')).toBe('LONG');
      expect(await readFile(join(out, 'tree/empty'), 'utf8')).toBe('');
      const run = await lstat(join(out, 'tree/bin/run'));
      expect(run.mode & 0o777).toBe(0o755);
      expect(run.mtimeMs).toBe(1_000_000_000);
      expect(await readlink(join(out, 'tree/run-link'))).toBe('bin/run');
      const [a, b] = await Promise.all([lstat(join(out, 'tree/big.bin')), lstat(join(out, 'tree/big-again.bin'))]);
      expect(b.ino).toBe(a.ino);
    }
  });

  it('replaces an earlier entry of the same path instead of writing through it (a link out, then a file)', async () => {
    const outside = join(base, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'target'), 'OUTSIDE');
    const archive = Buffer.concat([
      entry('x', 'SymbolicLink', undefined, join(outside, 'target')),
      entry('x', 'File', Buffer.from('INSIDE')),
      Buffer.alloc(1024),
    ]);
    const out = join(base, 'out');
    await mkdir(out);
    await extractTar(pieces(archive, 4096), out, { check: allowAll });
    expect(await readFile(join(outside, 'target'), 'utf8')).toBe('OUTSIDE');
    expect((await lstat(join(out, 'x'))).isFile()).toBe(true);
    expect(await readFile(join(out, 'x'), 'utf8')).toBe('INSIDE');
  });

  it('writes nothing after the first refused entry and names the problems', async () => {
    const archive = Buffer.concat([
      entry('bad-1', 'File', Buffer.from('1')),
      entry('good', 'File', Buffer.from('2')),
      entry('bad-2', 'File', Buffer.from('3')),
      Buffer.alloc(1024),
    ]);
    const out = join(base, 'out');
    await mkdir(out);
    const result = await extractTar(pieces(archive, 100), out, {
      check: (e) => (e.path.startsWith('bad') ? `no ${e.path}` : null),
    });
    expect(result).toEqual({ entries: 3, problems: ['no bad-1', 'no bad-2'] });
    expect(await readdir(out)).toEqual([]);
  });

  it('refuses an archive cut short or with a damaged header', async () => {
    const whole = Buffer.concat([entry('a', 'File', randomBytes(5000)), Buffer.alloc(1024)]);
    const out = join(base, 'out');
    await mkdir(out);
    const cut = extractTar(pieces(whole.subarray(0, 3000), 1000), out, { check: allowAll });
    await expect(cut).rejects.toThrow(TarFormatError);
    await expect(cut).rejects.toThrow(/cut short/);
    const damaged = Buffer.from(whole);
    damaged[10] = (damaged[10] ?? 0) ^ 0xff;
    await expect(extractTar(pieces(damaged, 1000), join(base, 'out'), { check: allowAll })).rejects.toThrow(
      /bad checksum/,
    );
  });
});
