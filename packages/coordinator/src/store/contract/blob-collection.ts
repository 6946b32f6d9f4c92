import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import type { Store } from '../types.js';
import { makeCacheEntry } from './caches.js';

/** A moment strictly later than every put so far (stores stamp puts in whole milliseconds). */
const later = async () => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  const at = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 5));
  return at;
};

/** Every blob `collectBlobs` deletes in one whole pass (several calls of 2 blobs each). */
async function collectAll(store: Store, putBefore: number): Promise<string[]> {
  const deleted: string[] = [];
  let after: string | null = null;
  do {
    const step = await store.collectBlobs({ putBefore, after, limit: 2 });
    deleted.push(...step.deleted);
    after = step.next;
  } while (after !== null);
  return deleted.sort();
}

const artifactOf = (sha256: string, name: string) => ({
  _id: `r/${name}`,
  runId: 'r',
  name,
  jobId: null,
  attempt: null,
  size: 1,
  sha256,
  createdAt: 0,
});

/** The contract of blob collection (`BlobCollectionStore`), run on the store made for each test. */
export function describeBlobCollectionContract(storeOf: () => Store): void {
  it('blob collection: blobs no artifact or cache entry names go once last put before the cut-off; named ones stay', async () => {
    const store = storeOf();
    const bytes = () => Readable.from([randomBytes(1000)]);
    const started = Date.now() - 1;
    const named = await store.putBlob(bytes());
    await store.putArtifact(artifactOf(named.sha256, 'kept'));
    const replaced = await store.putBlob(bytes());
    await store.putArtifact(artifactOf(replaced.sha256, 'replaced'));
    const replacing = await store.putBlob(bytes());
    await store.putArtifact(artifactOf(replacing.sha256, 'replaced'));
    const orphan = await store.putBlob(bytes());
    const cached = await store.putCacheBlob(bytes());
    const entry = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'k', sha256: cached.sha256 });
    await store.insertCacheEntry(entry);
    const evicted = await store.putCacheBlob(bytes());
    const gone = makeCacheEntry({ pipeline: 'web', scope: 'main', key: 'gone', sha256: evicted.sha256 });
    await store.insertCacheEntry(gone);
    await store.removeCacheEntry(gone._id);

    // Nothing is old enough yet: uploads whose records may still be on their way are kept.
    expect(await collectAll(store, started)).toEqual([]);
    expect(await collectAll(store, await later())).toEqual([replaced.sha256, orphan.sha256, evicted.sha256].sort());
    for (const sha256 of [replaced.sha256, orphan.sha256]) expect(await store.openBlob(sha256)).toBeNull();
    expect(await store.openCacheBlob(evicted.sha256)).toBeNull();
    expect(await store.openBlob(named.sha256)).not.toBeNull();
    expect(await store.openBlob(replacing.sha256)).not.toBeNull();
    expect(await store.openCacheBlob(cached.sha256)).not.toBeNull();
    expect(await collectAll(store, await later())).toEqual([]);
  });

  it('blob collection: identical content stored again counts as a new put, so a blob about to be named again stays', async () => {
    const store = storeOf();
    const data = randomBytes(1000);
    const first = await store.putBlob(Readable.from([data]));
    const cutOff = await later();
    // Stored again (no new bytes kept) after the cut-off: its record comes next.
    expect(await store.putBlob(Readable.from([data]))).toMatchObject({ sha256: first.sha256, created: false });
    expect(await collectAll(store, cutOff)).toEqual([]);
    await store.putArtifact(artifactOf(first.sha256, 'again'));
    expect(await collectAll(store, await later())).toEqual([]);
    expect(await store.openBlob(first.sha256)).not.toBeNull();
    // Collected, the same content stored again is a new blob.
    const other = randomBytes(1000);
    const put = await store.putBlob(Readable.from([other]));
    expect(await collectAll(store, await later())).toEqual([put.sha256]);
    expect(await store.putBlob(Readable.from([other]))).toMatchObject({ sha256: put.sha256, created: true });
    expect(await store.openBlob(put.sha256)).not.toBeNull();
  });
}
