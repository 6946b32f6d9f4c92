import { expect, it } from 'vitest';
import type { Store } from '../types.js';

/** The contract of artifacts, run inside `describeStoreContract` on the store it made for each test. */
export function describeArtifactsContract(storeOf: () => Store): void {
  it('artifacts round-trip their bytes', async () => {
    const store = storeOf();
    const data = Buffer.from([0, 1, 2, 255]);
    await store.putArtifact(
      { _id: 'r/a', runId: 'r', name: 'a', jobId: 'j', attempt: 1, size: 4, sha256: 'x', createdAt: 0 },
      data,
    );
    expect((await store.getArtifact('r/a'))?.data.equals(data)).toBe(true);
    expect((await store.listArtifacts('r')).map((a) => a.name)).toEqual(['a']);
    expect(await store.getArtifact('r/none')).toBeNull();
  });

  it('an artifact stored again under its id replaces bytes and metadata together', async () => {
    const store = storeOf();
    const meta = {
      _id: 'r/../../x',
      runId: 'r',
      name: '../../x',
      jobId: 'j',
      attempt: 1,
      size: 3,
      sha256: 'a',
      createdAt: 0,
    };
    await store.putArtifact(meta, Buffer.from('one'));
    await Promise.all([
      store.putArtifact({ ...meta, attempt: 2, sha256: 'b' }, Buffer.from('two')),
      store.putArtifact({ ...meta, attempt: 3, sha256: 'c' }, Buffer.from('three')),
    ]);
    // Either write may land last, but the metadata always describes the bytes.
    const artifact = await store.getArtifact('r/../../x');
    expect([
      [2, 'two'],
      [3, 'three'],
    ]).toContainEqual([artifact?.meta.attempt, artifact?.data.toString()]);
    expect((await store.listArtifacts('r')).map((a) => a.attempt)).toEqual([artifact?.meta.attempt]);
    await store.putArtifact({ ...meta, _id: 'r/empty', name: 'empty', size: 0 }, Buffer.alloc(0));
    expect((await store.getArtifact('r/empty'))?.data.length).toBe(0);
  });
}
