import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashFiles } from './hash-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hf-hash-files-'));
  await mkdir(join(dir, 'a', 'node_modules', 'x'), { recursive: true });
  await writeFile(join(dir, 'package-lock.json'), '{"v":1}');
  await writeFile(join(dir, 'a', 'package-lock.json'), '{"v":2}');
  await writeFile(join(dir, 'a', 'node_modules', 'x', 'package-lock.json'), '{"v":3}');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('hashFiles', () => {
  it('changes when a matched file changes, not when an unmatched one does', async () => {
    const before = await hashFiles(dir, ['**/package-lock.json', '!**/node_modules/**']);
    expect(before).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(join(dir, 'a', 'node_modules', 'x', 'package-lock.json'), '{"v":4}');
    expect(await hashFiles(dir, ['**/package-lock.json', '!**/node_modules/**'])).toBe(before);
    await writeFile(join(dir, 'a', 'package-lock.json'), '{"v":5}');
    expect(await hashFiles(dir, ['**/package-lock.json', '!**/node_modules/**'])).not.toBe(before);
  });

  it('is empty when nothing matches, and refuses patterns outside the workspace', async () => {
    expect(await hashFiles(dir, ['Cargo.lock'])).toBe('');
    await expect(hashFiles(dir, ['../x'])).rejects.toMatchObject({ code: 'HF_CACHE_INVALID' });
    await expect(hashFiles(dir, ['/etc/passwd'])).rejects.toMatchObject({ code: 'HF_CACHE_INVALID' });
  });
});
