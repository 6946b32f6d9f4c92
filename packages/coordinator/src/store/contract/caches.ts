import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { type CacheEntryRecord, type CacheStore, cacheEntryIdOf } from '../ports/caches.js';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A cache entry record with defaults, for contract tests. */
export function makeCacheEntry(
  fields: Pick<CacheEntryRecord, 'pipeline' | 'scope' | 'key'> & Partial<CacheEntryRecord>,
): CacheEntryRecord {
  const base = { version: 'v1', ...fields };
  return {
    _id: cacheEntryIdOf(base),
    size: 3,
    sha256: sha('abc'),
    createdAt: 1,
    lastUsedAt: 1,
    ...base,
  };
}

const readAll = async (stream: NodeJS.ReadableStream) => {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
};

/** The contract of the caches aggregate, run on the store made for each test. */
export function describeCachesContract(storeOf: () => CacheStore): void {
  it('caches: an entry is found by pipeline, version and scope', async () => {
    const store = storeOf();
    const main = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'npm-1' });
    const feature = makeCacheEntry({ pipeline: 'web', scope: 'feature', key: 'npm-2' });
    const other = makeCacheEntry({ pipeline: 'api', scope: 'main', key: 'npm-1' });
    const v2 = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'npm-1', version: 'v2' });
    for (const e of [main, feature, other, v2]) expect(await store.insertCacheEntry(e)).toBe(true);
    const found = await store.findCacheEntries({ pipeline: 'web', version: 'v1', scopes: ['feature', 'main'] });
    expect(found.map((e) => e._id).sort()).toEqual([main._id, feature._id].sort());
    expect(await store.findCacheEntries({ pipeline: 'web', version: 'v1', scopes: ['other'] })).toEqual([]);
    expect(await store.getCacheEntry(main._id)).toEqual(main);
    expect(await store.getCacheEntry('0'.repeat(40))).toBeNull();
  });

  it('caches: a saved key is immutable; a second insert changes nothing', async () => {
    const store = storeOf();
    const entry = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'k' });
    expect(await store.insertCacheEntry(entry)).toBe(true);
    expect(await store.insertCacheEntry({ ...entry, size: 6, sha256: sha('other') })).toBe(false);
    expect(await store.getCacheEntry(entry._id)).toEqual(entry);
  });

  it('caches: touched forward only, listed by pipeline then key, and removed', async () => {
    const store = storeOf();
    const b = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'b' });
    const a = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'a' });
    const c = makeCacheEntry({ pipeline: 'api', scope: 'main', key: 'c' });
    for (const e of [b, a, c]) await store.insertCacheEntry(e);
    await store.touchCacheEntry(a._id, 50);
    await store.touchCacheEntry(a._id, 40);
    expect((await store.listCacheEntries()).map((e) => e.key)).toEqual(['c', 'a', 'b']);
    expect((await store.listCacheEntries('web')).map((e) => [e.key, e.lastUsedAt])).toEqual([
      ['a', 50],
      ['b', 1],
    ]);
    expect(await store.removeCacheEntry(a._id)).toEqual({ ...a, lastUsedAt: 50 });
    expect(await store.removeCacheEntry(a._id)).toBeNull();
    expect(await store.getCacheEntry(a._id)).toBeNull();
    expect((await store.listCacheEntries('web')).map((e) => e.key)).toEqual(['b']);
    // Removed, the key may be saved again.
    expect(await store.insertCacheEntry(a)).toBe(true);
  });

  it('caches: archives are blobs; removing an entry leaves its archive (to the blob sweep)', async () => {
    const store = storeOf();
    const blob = await store.putCacheBlob(Readable.from([Buffer.from('archive bytes')]));
    expect(blob).toMatchObject({ sha256: sha('archive bytes'), size: 13 });
    const opened = await store.openCacheBlob(blob.sha256);
    expect(opened?.size).toBe(13);
    expect(await readAll((opened as { stream: NodeJS.ReadableStream }).stream)).toBe('archive bytes');
    const one = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'one', sha256: blob.sha256, size: 13 });
    await store.insertCacheEntry(one);
    await store.removeCacheEntry(one._id);
    expect(await store.openCacheBlob(blob.sha256)).not.toBeNull();
  });
}
