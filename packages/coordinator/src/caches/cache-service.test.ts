import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.js';
import { type DirectoryCaches, createDirectoryCaches } from '../store/directory-caches.js';
import { createCacheService } from './cache-service.js';

let dir: string;
let store: DirectoryCaches;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hf-cache-service-'));
  store = createDirectoryCaches(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const web = (branch: string | null) => ({ pipeline: 'web', branch });
const bytes = (n: number, fill = 'x') => Buffer.alloc(n, fill);

describe('the cache service', () => {
  it('a branch restores its own entry first, then its default branch one, never another branch', async () => {
    const caches = createCacheService({ store, clock: createManualClock(1000) });
    await caches.save(web('main'), { key: 'npm-a', version: 'v', source: Readable.from([bytes(3, 'm')]) });
    await caches.save(web('feature'), { key: 'npm-a', version: 'v', source: Readable.from([bytes(3, 'f')]) });
    const own = await caches.restore(web('feature'), { key: 'npm-a', restoreKeys: [], version: 'v' });
    expect([own.hit, own.entry?.scope]).toEqual(['exact', 'feature']);
    const fallback = await caches.restore(web('other'), { key: 'npm-a', restoreKeys: [], version: 'v' });
    expect([fallback.hit, fallback.entry?.scope]).toEqual(['exact', 'main']);
    const noBranch = await caches.restore(web(null), { key: 'npm-b', restoreKeys: ['npm-'], version: 'v' });
    expect([noBranch.hit, noBranch.entry?.scope, noBranch.entry?.key]).toEqual(['prefix', 'main', 'npm-a']);
    // Another version (other paths) sees nothing.
    expect((await caches.restore(web('feature'), { key: 'npm-a', restoreKeys: [], version: 'w' })).hit).toBe('miss');
    // Another pipeline sees nothing.
    expect(
      (await caches.restore({ pipeline: 'api', branch: 'main' }, { key: 'npm-a', restoreKeys: [], version: 'v' })).hit,
    ).toBe('miss');
  });

  it('a key once saved is kept: saving it again changes nothing', async () => {
    const caches = createCacheService({ store });
    const first = await caches.save(web('main'), { key: 'k', version: 'v', source: Readable.from([bytes(3, 'a')]) });
    const second = await caches.save(web('main'), { key: 'k', version: 'v', source: Readable.from([bytes(5, 'b')]) });
    expect([first.saved, second.saved]).toEqual([true, false]);
    expect(second.entry.sha256).toBe(first.entry.sha256);
    const blob = await store.openCacheBlob(first.entry.sha256);
    const parts: Buffer[] = [];
    for await (const c of (blob as { stream: NodeJS.ReadableStream }).stream) parts.push(c as Buffer);
    expect(Buffer.concat(parts)).toEqual(bytes(3, 'a'));
  });

  it('past the pipeline limit the least recently restored entries go, other pipelines untouched', async () => {
    const clock = createManualClock(1000);
    const caches = createCacheService({ store, clock, options: { limitBytes: 25 } });
    await caches.save(
      { pipeline: 'api', branch: 'main' },
      { key: 'api', version: 'v', source: Readable.from([bytes(20)]) },
    );
    for (const key of ['a', 'b']) {
      await caches.save(web('main'), { key, version: 'v', source: Readable.from([bytes(10, key)]) });
      await clock.advance(10);
    }
    // a is restored: b becomes the least recently used.
    await caches.restore(web('main'), { key: 'a', restoreKeys: [], version: 'v' });
    await clock.advance(10);
    const saved = await caches.save(web('main'), { key: 'c', version: 'v', source: Readable.from([bytes(10, 'c')]) });
    expect(saved.evicted).toBe(1);
    expect((await store.listCacheEntries('web')).map((e) => e.key)).toEqual(['a', 'c']);
    // b's archive is left to the blob sweep, which takes it and leaves a's.
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(await store.openCacheBlob(sha(bytes(10, 'b')))).not.toBeNull();
    expect((await store.collectCacheBlobs({ putBefore: Date.now() + 1000 })).deleted).toEqual([sha(bytes(10, 'b'))]);
    expect(await store.openCacheBlob(sha(bytes(10, 'b')))).toBeNull();
    expect(await store.openCacheBlob(sha(bytes(10, 'a')))).not.toBeNull();
    expect((await store.listCacheEntries('api')).map((e) => e.key)).toEqual(['api']);
  });

  it('an entry larger than the pipeline limit is refused and nothing is stored', async () => {
    const caches = createCacheService({ store, options: { limitBytes: 8 } });
    await expect(
      caches.save(web('main'), { key: 'big', version: 'v', source: Readable.from([bytes(9)]) }),
    ).rejects.toMatchObject({
      code: 'HF_PAYLOAD_TOO_LARGE',
    });
    expect(await store.listCacheEntries()).toEqual([]);
  });
});
