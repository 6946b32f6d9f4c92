import { expect, it } from 'vitest';
import { type CacheEntryRecord, type CacheStore, cacheEntryIdOf } from '../ports/caches.js';

/** A cache entry record with defaults, for contract tests. */
export function makeCacheEntry(
  fields: Pick<CacheEntryRecord, 'pipeline' | 'scope' | 'key'> & Partial<CacheEntryRecord>,
): CacheEntryRecord {
  const base = { version: 'v1', ...fields };
  return {
    _id: cacheEntryIdOf(base),
    size: 3,
    sha256: 'abc',
    createdAt: 1,
    lastUsedAt: 1,
    ...base,
  };
}

/** The contract of the caches aggregate, run on the store made for each test. */
export function describeCachesContract(storeOf: () => CacheStore): void {
  it('caches: an entry is saved with its bytes, and found by pipeline, version and scope', async () => {
    const store = storeOf();
    const main = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'npm-1' });
    const feature = makeCacheEntry({ pipeline: 'web', scope: 'feature', key: 'npm-2' });
    const other = makeCacheEntry({ pipeline: 'api', scope: 'main', key: 'npm-1' });
    const v2 = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'npm-1', version: 'v2' });
    for (const e of [main, feature, other, v2]) expect(await store.insertCacheEntry(e, Buffer.from(e.key))).toBe(true);
    const found = await store.findCacheEntries({ pipeline: 'web', version: 'v1', scopes: ['feature', 'main'] });
    expect(found.map((e) => e._id).sort()).toEqual([main._id, feature._id].sort());
    expect(await store.findCacheEntries({ pipeline: 'web', version: 'v1', scopes: ['other'] })).toEqual([]);
    const got = await store.getCacheEntry(main._id);
    expect(got?.entry).toEqual(main);
    expect(got?.data.toString()).toBe('npm-1');
    expect(await store.getCacheEntry('0'.repeat(40))).toBeNull();
  });

  it('caches: a saved key is immutable; a second save changes nothing', async () => {
    const store = storeOf();
    const entry = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'k' });
    expect(await store.insertCacheEntry(entry, Buffer.from('first'))).toBe(true);
    expect(await store.insertCacheEntry({ ...entry, size: 6, sha256: 'other' }, Buffer.from('second'))).toBe(false);
    const got = await store.getCacheEntry(entry._id);
    expect(got?.data.toString()).toBe('first');
    expect(got?.entry.sha256).toBe('abc');
  });

  it('caches: touched, listed by pipeline then key, and removed with their bytes', async () => {
    const store = storeOf();
    const b = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'b' });
    const a = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'a' });
    const c = makeCacheEntry({ pipeline: 'api', scope: 'main', key: 'c' });
    for (const e of [b, a, c]) await store.insertCacheEntry(e, Buffer.from('x'));
    await store.touchCacheEntry(a._id, 50);
    expect((await store.listCacheEntries()).map((e) => e.key)).toEqual(['c', 'a', 'b']);
    const web = await store.listCacheEntries('web');
    expect(web.map((e) => [e.key, e.lastUsedAt])).toEqual([
      ['a', 50],
      ['b', 1],
    ]);
    expect(await store.removeCacheEntry(a._id)).toBe(true);
    expect(await store.removeCacheEntry(a._id)).toBe(false);
    expect(await store.getCacheEntry(a._id)).toBeNull();
    expect((await store.listCacheEntries('web')).map((e) => e.key)).toEqual(['b']);
    // Removed, the key may be saved again.
    expect(await store.insertCacheEntry(a, Buffer.from('again'))).toBe(true);
  });
}
