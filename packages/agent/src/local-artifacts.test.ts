import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalArtifacts } from './local-artifacts.js';

describe('local artifacts (archives the agent uploaded)', () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'hf-local-artifacts-'));
  });
  afterEach(() => rm(base, { recursive: true, force: true }));

  /** A spool file of `size` bytes, as an upload leaves it. */
  const spooled = async (name: string, size: number) => {
    const file = join(base, name);
    await writeFile(file, Buffer.alloc(size, name));
    return { file, size, sha256: name.padEnd(64, '0') };
  };

  it('moves the spool file in, finds it by run and name, and evicts the least recently used past the limit', async () => {
    const dir = join(base, 'kept');
    const local = createLocalArtifacts({ dir, limitBytes: 250 });
    await local.keep('run/1', 'a', await spooled('a', 100));
    await local.keep('run/1', 'b', await spooled('b', 100));
    // The spool files were moved, not copied.
    expect((await readdir(base)).sort()).toEqual(['kept']);
    expect((await local.find('run/1', 'a'))?.sha256).toBe('a'.padEnd(64, '0'));
    expect(await local.find('run/2', 'a')).toBeNull();
    // a was used last: c pushes b out.
    await local.keep('run/1', 'c', await spooled('c', 100));
    expect(await local.find('run/1', 'b')).toBeNull();
    expect(await local.find('run/1', 'a')).not.toBeNull();
    expect(await readdir(dir)).toHaveLength(2);
    // Larger than the limit: not kept at all.
    await local.keep('run/1', 'd', await spooled('d', 300));
    expect(await local.find('run/1', 'd')).toBeNull();
    await local.clear();
    expect(await local.find('run/1', 'a')).toBeNull();
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });

  it('does not use a kept file that changed (rewritten, touched) or is gone', async () => {
    const dir = join(base, 'kept');
    const local = createLocalArtifacts({ dir });
    await local.keep('r', 'a', await spooled('a', 10));
    await local.keep('r', 'b', await spooled('b', 10));
    await local.keep('r', 'c', await spooled('c', 10));
    const a = await local.find('r', 'a');
    const b = await local.find('r', 'b');
    const c = await local.find('r', 'c');
    await writeFile(a?.file as string, 'other bytes');
    await utimes(b?.file as string, new Date(0), new Date(0));
    await rm(c?.file as string);
    expect(await local.find('r', 'a')).toBeNull();
    expect(await local.find('r', 'b')).toBeNull();
    expect(await local.find('r', 'c')).toBeNull();
    // A dropped file is removed.
    await local.keep('r', 'd', await spooled('d', 10));
    const d = await local.find('r', 'd');
    if (!d) throw new Error('d was not kept');
    await local.drop('r', 'd');
    expect(await readdir(dir)).not.toContain(d.file.slice(dir.length + 1));
  });
});
