import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import type { Store } from '../types.js';

/** The contract of artifacts, run inside `describeStoreContract` on the store it made for each test. */
export function describeArtifactsContract(storeOf: () => Store): void {
  it('artifacts: a record names its blob; stored again under its id, the record is replaced', async () => {
    const store = storeOf();
    const data = Buffer.from([0, 1, 2, 255]);
    const blob = await store.putBlob(Readable.from([data]));
    const meta = {
      _id: 'r/../../x',
      runId: 'r',
      name: '../../x',
      jobId: 'j',
      attempt: 1,
      size: blob.size,
      sha256: blob.sha256,
      createdAt: 0,
    };
    await store.putArtifact(meta);
    expect(await store.getArtifact('r/../../x')).toEqual(meta);
    const opened = await store.openBlob(meta.sha256);
    const parts: Buffer[] = [];
    for await (const chunk of opened?.stream ?? []) parts.push(Buffer.from(chunk as Buffer));
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(await store.getArtifact('r/none')).toBeNull();
    await Promise.all([
      store.putArtifact({ ...meta, attempt: 2 }),
      store.putArtifact({ ...meta, attempt: 3 }),
      store.putArtifact({ ...meta, _id: 'r/b', name: 'b' }),
    ]);
    expect([2, 3]).toContain((await store.getArtifact('r/../../x'))?.attempt);
    expect((await store.listArtifacts('r')).map((a) => a.name).sort()).toEqual(['../../x', 'b']);
    expect(await store.listArtifacts('other')).toEqual([]);
  });
}
