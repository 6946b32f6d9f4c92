import { API_VERSION, type PipelineSpec, PipelineSpecSchema } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { diffSpecs, renderSpecDiff } from './spec-diff.js';

const job = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  job: name,
  matrix: null,
  needs: [],
  image: null,
  labels: [],
  env: {},
  secrets: [],
  timeoutMs: 3_600_000,
  retries: 0,
  if: null,
  concurrency: null,
  source: { file: 'hiveforge.ts', line: 1, column: 1 },
  ...more,
});

const spec = (jobs: unknown[], images: unknown[] = []): PipelineSpec =>
  PipelineSpecSchema.parse({
    apiVersion: API_VERSION,
    name: 'web',
    triggers: { push: null, pullRequest: null, schedule: [], manual: null },
    strictImages: false,
    env: {},
    images,
    jobs,
    source: null,
  });

const image = (tag: string) => ({
  name: 'node',
  from: 'node:22',
  steps: [],
  env: {},
  workdir: null,
  tag,
  pinned: false,
});

describe('diffSpecs', () => {
  it('names jobs added and removed, and each changed option with its values before and after', () => {
    const before = spec([job('build'), job('test', { needs: ['build'] }), job('old')]);
    const after = spec([
      job('build', { retries: 2 }),
      job('lint'),
      job('test', { needs: ['build', 'lint'], source: { file: 'hiveforge.ts', line: 9, column: 1 } }),
    ]);
    const diff = diffSpecs(before, after);
    expect(diff.added).toEqual(['lint']);
    expect(diff.removed).toEqual(['old']);
    expect(renderSpecDiff(diff)).toEqual([
      '+ lint',
      '- old',
      '~ build: retries 0 → 2',
      '~ test: needs build → build, lint',
    ]);
  });

  it('a first version adds every job; the same version changes nothing', () => {
    const only = spec([job('a'), job('b', { needs: ['a'] })]);
    expect(renderSpecDiff(diffSpecs(null, only))).toEqual(['+ a', '+ b']);
    expect(renderSpecDiff(diffSpecs(only, only))).toEqual([]);
  });

  it('an image whose description changed under the same name is a change of the job’s image', () => {
    const before = spec([job('build', { image: 'node' })], [image('hf-aaa')]);
    const after = spec([job('build', { image: 'node' })], [image('hf-bbb')]);
    expect(renderSpecDiff(diffSpecs(before, after))).toEqual(['~ build: image hf-aaa → hf-bbb']);
  });
});
