import { expect, it } from 'vitest';
import type { Store } from '../types.js';
import { makePipelineSpec, makeJobSpec } from './fixtures.js';

/** The contract of pipelines, run inside `describeStoreContract` on the store it made for each test. */
export function describePipelinesContract(storeOf: () => Store): void {
  it('a pipeline lists its versions newest first, once each, page by page', async () => {
    const store = storeOf();
    const version = (id: string, pipeline: string, createdAt: number, jobs: string[]) => ({
      _id: id,
      pipeline,
      spec: makePipelineSpec(
        pipeline,
        jobs.map((name) => makeJobSpec(name)),
      ),
      bundle: `bundle of ${id}`,
      entry: 'hiveforge.ts',
      createdAt,
    });
    await store.putPipelineVersion(version('v1', 'web', 10, ['build']));
    await store.putPipelineVersion(version('v2', 'web', 20, ['build', 'test']));
    await store.putPipelineVersion(version('other', 'api', 15, ['x']));
    // The same content again (same id), even later: still one entry, at its first time.
    await store.putPipelineVersion(version('v1', 'web', 30, ['build']));
    await store.putPipelineVersion(version('v4', 'web', 40, ['lint']));
    await store.putPipelineVersion(version('v3', 'web', 40, ['a', 'b', 'c']));
    const all = await store.listPipelineVersions('web', { limit: 10 });
    expect(all.map((v) => v._id)).toEqual(['v4', 'v3', 'v2', 'v1']);
    expect(all[2]).toEqual({
      _id: 'v2',
      pipeline: 'web',
      createdAt: 20,
      entry: 'hiveforge.ts',
      jobs: ['build', 'test'],
    });
    expect(all[3]?.createdAt).toBe(10);
    expect((await store.listPipelineVersions('web', { limit: 2 })).map((v) => v._id)).toEqual(['v4', 'v3']);
    expect((await store.listPipelineVersions('web', { limit: 2, before: 'v3' })).map((v) => v._id)).toEqual([
      'v2',
      'v1',
    ]);
    expect(await store.listPipelineVersions('web', { limit: 2, before: 'v1' })).toEqual([]);
    expect(await store.listPipelineVersions('web', { limit: 2, before: 'other' })).toEqual([]);
    expect(await store.listPipelineVersions('web', { limit: 2, before: 'none' })).toEqual([]);
    expect(await store.listPipelineVersions('web', { limit: 0 })).toEqual([]);
    expect(await store.listPipelineVersions('none', { limit: 10 })).toEqual([]);
    expect((await store.listPipelineVersions('api', { limit: 10 })).map((v) => v.jobs)).toEqual([['x']]);
  });

  it('pipeline versions are content-addressed and immutable; the head moves', async () => {
    const store = storeOf();
    const spec = makePipelineSpec('p');
    await store.putPipelineVersion({
      _id: 'v1',
      pipeline: 'p',
      spec,
      bundle: 'one',
      entry: 'hiveforge.ts',
      createdAt: 1,
    });
    await store.putPipelineVersion({
      _id: 'v1',
      pipeline: 'p',
      spec,
      bundle: 'changed',
      entry: 'hiveforge.ts',
      createdAt: 2,
    });
    expect((await store.getPipelineVersion('v1'))?.bundle).toBe('one');
    await store.setPipelineHead('p', 'v1', 1);
    await store.setPipelineHead('p', 'v2', 2);
    expect((await store.getPipeline('p'))?.versionId).toBe('v2');
    expect((await store.listPipelines()).map((p) => p._id)).toEqual(['p']);
  });
}
