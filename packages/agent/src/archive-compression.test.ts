import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveCompressionFor, isLoopbackUrl } from './archive-compression.js';
import { packPath } from './archive.js';

describe('archive compression by where the coordinator is', () => {
  it('stores uncompressed only when every coordinator is on loopback', () => {
    for (const url of ['http://127.0.0.1:4000', 'http://localhost:80/', 'http://[::1]:4000', 'https://LOCALHOST'])
      expect(isLoopbackUrl(url), url).toBe(true);
    for (const url of ['http://10.0.0.5:4000', 'https://hive.example.com', 'http://127.0.0.1.example.com', 'nonsense'])
      expect(isLoopbackUrl(url), url).toBe(false);
    expect(archiveCompressionFor(['http://127.0.0.1:4000'])).toBe('none');
    expect(archiveCompressionFor(['http://127.0.0.1:4000', 'http://[::1]:4001'])).toBe('none');
    expect(archiveCompressionFor(['http://127.0.0.1:4000', 'http://hive.example.com:4000'])).toBe('auto');
    expect(archiveCompressionFor(['https://hive.example.com'])).toBe('auto');
  });

  it('packs a compressible file as a plain tar with compression none, gzipped by default', async () => {
    const ws = await mkdtemp(join(tmpdir(), 'hf-compression-'));
    try {
      await writeFile(join(ws, 'text.txt'), 'the same line again\n'.repeat(100_000));
      const read = async (compression?: 'auto' | 'none') => {
        const parts: Buffer[] = [];
        for await (const c of await packPath(ws, 'text.txt', { compression })) parts.push(c as Buffer);
        return Buffer.concat(parts);
      };
      const plain = await read('none');
      expect(plain.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
      expect(plain.subarray(257, 262).toString()).toBe('ustar');
      expect(plain.length).toBeGreaterThan(2_000_000);
      const gz = await read();
      expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});
