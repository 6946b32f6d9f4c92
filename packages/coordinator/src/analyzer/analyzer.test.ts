import { fileURLToPath } from 'node:url';
import { ErrorCodes, type Pipeline, type PipelineSpec, describePipeline } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { generateLargePipeline, largeConfig } from './__fixtures__/generate-large-pipeline.js';
import {
  type AnalysisResult,
  AnalysisFailedError,
  analyzePipeline,
  createAnalyzer,
  formatDiagnostic,
} from './index.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

function withoutSources(spec: PipelineSpec): PipelineSpec {
  return { ...spec, source: null, jobs: spec.jobs.map((j) => ({ ...j, source: null })) };
}

function specOf(result: AnalysisResult): PipelineSpec {
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.spec;
}

const GOOD = [
  ['basic', 'needs by reference and name, env, retries, timeout, disk, secrets, concurrency, plain blocks'],
  ['local-imports', 'consts imported from local files through re-exports, spreads, destructuring, namespace import'],
  ['matrix', 'matrices, needs on a matrix job and on one instance'],
  ['triggers-object', 'triggers written as an object, manual inputs, job conditions'],
  ['triggers-helpers', 'trigger helper calls, renamed imports, spread arguments'],
  ['namespace', 'a namespace import of the SDK, images, SDK constants'],
  ['secrets', "declared secrets read as ctx.secrets.X, ctx.secrets['X'] and through { secrets }"],
  ['images', 'images imported from a local file, satisfies, a build function declared apart, a const default export'],
] as const;

describe('analyzer on good pipelines', () => {
  const analyzer = createAnalyzer();

  it.each(GOOD)('%s: the static spec equals the run-time spec (%s)', async (name) => {
    const result = analyzer.analyze({ root: fixtures, entry: `good/${name}.ts` });
    expect(result.diagnostics).toEqual([]);
    const module = (await import(`./__fixtures__/good/${name}.ts`)) as { default: Pipeline };
    expect(withoutSources(specOf(result))).toEqual(describePipeline(module.default));
  });

  it('reads a disk quota as bytes, and no quota as null', () => {
    const spec = specOf(analyzer.analyze({ root: fixtures, entry: 'good/basic.ts' }));
    const disk = Object.fromEntries(spec.jobs.map((j) => [j.name, j.diskBytes]));
    expect(disk).toEqual({ build: null, lint: 2 * 1024 ** 3, test: null, deploy: null });
  });

  it('records the position of the pipeline( and every job( call, relative to the root', () => {
    const spec = specOf(analyzer.analyze({ root: fixtures, entry: 'good/basic.ts' }));
    expect(spec.source).toEqual({ file: 'good/basic.ts', line: 3, column: 16 });
    const sources = Object.fromEntries(spec.jobs.map((j) => [j.name, j.source]));
    expect(sources).toEqual({
      build: { file: 'good/basic.ts', line: 4, column: 17 },
      lint: { file: 'good/basic.ts', line: 7, column: 16 },
      test: { file: 'good/basic.ts', line: 10, column: 3 },
      deploy: { file: 'good/basic.ts', line: 19, column: 5 },
    });
  });

  it('gives every matrix instance the position of its job( call', () => {
    const spec = specOf(analyzer.analyze({ root: fixtures, entry: 'good/matrix.ts' }));
    const tests = spec.jobs.filter((j) => j.job === 'test');
    expect(tests.map((j) => j.name)).toEqual([
      'test[node=18,os=linux]',
      'test[node=18,os=macos]',
      'test[node=20,os=linux]',
      'test[node=20,os=macos]',
      'test[node=22,os=linux]',
      'test[node=22,os=macos]',
    ]);
    for (const t of tests) expect(t.source).toEqual({ file: 'good/matrix.ts', line: 7, column: 16 });
  });

  it('names the file a pipeline is declared in when the default export is re-exported', () => {
    const result = analyzer.analyze({
      root: '/nowhere',
      entry: 'hiveforge.ts',
      files: {
        'hiveforge.ts': "export { default } from './ci/pipeline.js';\n",
        'ci/pipeline.ts':
          "import { job, pipeline } from '@hiveforge/sdk';\n\nexport default pipeline('p', () => {\n  job('a', async () => {});\n});\n",
      },
    });
    const spec = specOf(result);
    expect(spec.source).toEqual({ file: 'ci/pipeline.ts', line: 3, column: 16 });
    expect(spec.jobs[0]?.source).toEqual({ file: 'ci/pipeline.ts', line: 4, column: 3 });
  });
});

describe('analyzer inputs', () => {
  const source = (retries: number) =>
    [
      "import { job, pipeline } from '@hiveforge/sdk';",
      "import { labels } from './config.js';",
      "export default pipeline('mem', () => {",
      `  job('build', { labels, retries: ${retries} }, async () => {});`,
      '});',
    ].join('\n');

  it('reads only the given in-memory files when `files` is passed', () => {
    const result = analyzePipeline({
      root: '/definitely/not/a/directory',
      entry: './hiveforge.ts',
      files: { './hiveforge.ts': source(1), 'config.ts': "export const labels = ['gpu'];" },
    });
    const spec = specOf(result);
    expect(spec.jobs[0]).toMatchObject({ name: 'build', labels: ['gpu'], retries: 1 });
  });

  it('does not fall back to the disk for a file missing from `files`', () => {
    const result = analyzePipeline({ root: fixtures, entry: 'good/basic.ts', files: {} });
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toMatchObject([
      { code: ErrorCodes.analysisSource, file: 'good/basic.ts', line: 1, column: 1 },
    ]);
  });

  it('sees edits to the entry and to imported files when the same analyzer runs again', () => {
    const analyzer = createAnalyzer();
    const files = { 'hiveforge.ts': source(1), 'config.ts': "export const labels = ['gpu'];" };
    expect(specOf(analyzer.analyze({ entry: 'hiveforge.ts', files })).jobs[0]?.retries).toBe(1);
    const edited = { ...files, 'hiveforge.ts': source(3) };
    expect(specOf(analyzer.analyze({ entry: 'hiveforge.ts', files: edited })).jobs[0]?.retries).toBe(3);
    const config = { ...edited, 'config.ts': "export const labels = ['arm64', 'gpu'];" };
    expect(specOf(analyzer.analyze({ entry: 'hiveforge.ts', files: config })).jobs[0]?.labels).toEqual([
      'arm64',
      'gpu',
    ]);
    const broken = { ...config, 'config.ts': 'export const labels = [os()];' };
    const result = analyzer.analyze({ entry: 'hiveforge.ts', files: broken });
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]).toMatchObject({ code: ErrorCodes.analysisNotStatic, file: 'config.ts', line: 1 });
  });

  it('accepts an absolute entry path inside the root', () => {
    const spec = specOf(analyzePipeline({ root: fixtures, entry: `${fixtures}good/matrix.ts` }));
    expect(spec.source?.file).toBe('good/matrix.ts');
  });

  it('keeps an unpinned image a warning when the pipeline is not strict', () => {
    const result = analyzePipeline({
      entry: 'hiveforge.ts',
      files: {
        'hiveforge.ts': [
          "import { image, job, pipeline } from '@hiveforge/sdk';",
          "const node = image('node', { from: 'node:20' });",
          "export default pipeline('p', () => {",
          "  job('a', { image: node }, async () => {});",
          "  job('b', { image: node }, async () => {});",
          '});',
        ].join('\n'),
      },
    });
    expect(result.ok).toBe(true);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        code: ErrorCodes.analysisUnpinnedImage,
        severity: 'warning',
        line: 2,
        column: 36,
        message: expect.stringContaining("image 'node' is not pinned by digest"),
      }),
    ]);
  });
});

describe('reporting', () => {
  const failed = analyzePipeline({ root: fixtures, entry: 'bad/many-errors.ts' });

  it('formats a diagnostic as file:line:column severity code: message, then the hint', () => {
    const [first] = failed.diagnostics;
    expect(first && formatDiagnostic(first)).toBe(
      'bad/many-errors.ts:3:48 error HF_ANALYSIS_INVALID_CRON: invalid cron expression: minute "61" is out of range 0-59\n' +
        "  hint: Use five fields, minute hour day-of-month month day-of-week, in UTC (for example '0 3 * * 1-5'), or @hourly, @daily, @weekly, @monthly, @yearly.",
    );
  });

  it('summarizes the errors in AnalysisFailedError and keeps them all', () => {
    const error = new AnalysisFailedError(failed.diagnostics);
    expect(error.code).toBe(ErrorCodes.analysisFailed);
    expect(error.diagnostics).toHaveLength(5);
    expect(error.message.split('\n')[0]).toBe('pipeline analysis failed with 5 errors');
    expect(error.message).toContain('bad/many-errors.ts:5:32 HF_ANALYSIS_UNKNOWN_NEED');
    expect(error.toJSON()).toMatchObject({ code: 'HF_ANALYSIS_FAILED', diagnostics: failed.diagnostics });
  });
});

describe('a warm analyzer', () => {
  it('re-analyzes a changed 1,000-job pipeline and sees the change (speed: bench/analyze.mjs)', () => {
    const analyzer = createAnalyzer();
    const input = (variant: number) => ({
      entry: 'hiveforge.ts',
      files: { 'hiveforge.ts': generateLargePipeline(1_000, variant), 'large-config.ts': largeConfig },
    });
    const first = specOf(analyzer.analyze(input(0)));
    expect(first.jobs).toHaveLength(1_500);
    const second = specOf(analyzer.analyze(input(1)));
    expect(second.name).toBe('large1');
    expect(second.jobs.find((j) => j.name === 'job-994')?.needs).toEqual(['job-993', 'job-984']);
  });
});
