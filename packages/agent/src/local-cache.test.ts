import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalCache } from './local-cache.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let root: string;
let dir: string;
/** Writes `data` to a spool file, as a downloaded or packed archive is. */
const spooled = async (data: Buffer) => {
  const file = join(root, 'spool', `${sha(data)}.tgz`);
  await mkdir(join(root, 'spool'), { recursive: true });
  await writeFile(file, data);
  return file;
};
const read = async (file: string | null) => (file === null ? null : await readFile(file));
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hf-local-cache-'));
  dir = join(root, 'cache');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the agent local cache', () => {
  it('returns what it kept, by entry id and content hash', async () => {
    const cache = createLocalCache({ dir });
    const data = Buffer.from('archive');
    await cache.put('e1', sha(data), await spooled(data));
    expect(await read(await cache.get('e1', sha(data)))).toEqual(data);
    expect(await cache.get('e1', sha(Buffer.from('other')))).toBeNull();
    expect(await cache.get('e2', sha(data))).toBeNull();
  });

  it('a damaged file is dropped, not restored', async () => {
    const cache = createLocalCache({ dir });
    const data = Buffer.from('archive');
    await cache.put('e1', sha(data), await spooled(data));
    const [name] = await readdir(dir);
    await writeFile(join(dir, name as string), 'tampered');
    expect(await cache.get('e1', sha(data))).toBeNull();
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps under its limit by removing the least recently used', async () => {
    const cache = createLocalCache({ dir, limitBytes: 25 });
    const [a, b, c] = ['a', 'b', 'c'].map((x) => Buffer.alloc(10, x)) as [Buffer, Buffer, Buffer];
    await cache.put('a', sha(a), await spooled(a));
    await cache.put('b', sha(b), await spooled(b));
    const old = new Date(Date.now() - 60_000);
    for (const name of await readdir(dir)) if (name.startsWith('b-')) await utimes(join(dir, name), old, old);
    for (const name of await readdir(dir))
      if (name.startsWith('a-'))
        await utimes(join(dir, name), new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
    expect(await read(await cache.get('b', sha(b)))).toEqual(b); // used now: a is the least recently used
    await cache.put('c', sha(c), await spooled(c));
    expect(await cache.get('a', sha(a))).toBeNull();
    expect(await read(await cache.get('b', sha(b)))).toEqual(b);
    expect(await read(await cache.get('c', sha(c)))).toEqual(c);
  });
});
