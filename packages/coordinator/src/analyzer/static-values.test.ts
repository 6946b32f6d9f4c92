import { ErrorCodes } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { type AnalysisResult, createAnalyzer, formatDiagnostic } from './index.js';

const analyzer = createAnalyzer();

function analyze(entry: string, others: Record<string, string> = {}): AnalysisResult {
  return analyzer.analyze({ root: '/virtual', entry: 'hiveforge.ts', files: { 'hiveforge.ts': entry, ...others } });
}

function ok(result: AnalysisResult) {
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.spec;
}

const header = "import { image, job, pipeline } from '@hiveforge/sdk';\n";

describe('static values', () => {
  it('reads templates, negative numbers, computed keys, element access, destructuring and default imports', () => {
    const spec = ok(
      analyze(
        `import { pipeline, job } from './sdk.js';
import cfg from './cfg.js';
const prefix = 'svc';
const n = 3;
const key = 'retries';
const [firstLabel, , third] = ['a', 'b', 'c'];
const { retries: r, nested: { deep } } = { retries: 1, nested: { deep: 'x' } } satisfies object;
const p = pipeline(\`\${prefix}-pipe\`, { env: { [key]: n, NEG: -5, T: \`v\${n}\` } }, () => {
  const build = job(\`\${prefix}-build\`, { retries: cfg[key], labels: [firstLabel, third, deep, cfg.labels[1]] }, async () => {});
  job('test', { needs: [build], retries: (r) as number }, async () => {});
});
export { p as default };
`,
        {
          'sdk.ts': "export { pipeline, job } from '@hiveforge/sdk';",
          'cfg.ts': "export default { retries: 2, labels: ['x', 'y'] } as const;",
        },
      ),
    );
    expect(spec.name).toBe('svc-pipe');
    expect(spec.env).toEqual({ retries: '3', NEG: '-5', T: 'v3' });
    expect(spec.jobs.map((j) => [j.name, j.retries, j.labels, j.needs])).toEqual([
      ['svc-build', 2, ['a', 'c', 'x', 'y'], []],
      ['test', 1, [], ['svc-build']],
    ]);
  });

  it('ignores calls to a local function that shadows an SDK import', () => {
    const spec = ok(
      analyze(`${header}export default pipeline('p', () => {
  job('a', async () => {});
  {
    const job = (name: string) => name;
    job('not-a-job');
  }
});`),
    );
    expect(spec.jobs.map((j) => j.name)).toEqual(['a']);
  });

  it('accepts job() in any straight-line statement: let, assignment, return', () => {
    const spec = ok(
      analyze(`${header}export default pipeline('p', () => {
  let a = job('a', async () => {});
  let b;
  b = job('b', { needs: ['a'] }, async () => {});
  return job('c', { needs: ['b'] }, async () => {});
});`),
    );
    expect(spec.jobs.map((j) => [j.name, j.needs])).toEqual([
      ['a', []],
      ['b', ['a']],
      ['c', ['b']],
    ]);
  });

  it('accepts an arrow function whose body is a single job() call', () => {
    const spec = ok(analyze(`${header}export default pipeline('p', () => job('only', async () => {}));`));
    expect(spec.jobs.map((j) => j.name)).toEqual(['only']);
  });

  it('reads consts declared after a build function that is declared apart (no false TDZ)', () => {
    const spec = ok(
      analyze(`${header}function jobs() {
  job('a', { labels: LABELS }, async () => {});
}
const LABELS = ['x'];
export default pipeline('p', jobs);`),
    );
    expect(spec.jobs[0]?.labels).toEqual(['x']);
  });

  it('ignores jobs of another pipeline declared in the same file', () => {
    const spec = ok(
      analyze(`${header}export const other = pipeline('other', () => { job('x', async () => {}); });
export default pipeline('p', () => { job('y', async () => {}); });`),
    );
    expect(spec.jobs.map((j) => j.name)).toEqual(['y']);
  });

  it('rejects values imported from packages other than the SDK', () => {
    const result = analyze(`${header}import { labels } from '@acme/ci-config';
export default pipeline('p', () => { job('y', { labels }, async () => {}); });`);
    expect(result.diagnostics).toEqual([
      expect.objectContaining({
        code: ErrorCodes.analysisNotStatic,
        line: 2,
        column: 10,
        message: expect.stringContaining('imported from the package "@acme/ci-config"'),
      }),
    ]);
  });

  it('reports a non-static spread once, without follow-on errors about missing keys', () => {
    const result = analyze(`${header}const base = JSON.parse('{}');
const img = image('i', { ...base });
export default pipeline('p', () => { job('y', { ...base, image: img }, async () => {}); });`);
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([[ErrorCodes.analysisNotStatic, 2, 14]]);
  });

  it('flags jobs declared inside expressions without also calling their names unknown', () => {
    const result = analyze(`${header}export default pipeline('p', () => {
  const all = [job('a', async () => {}), job('b', async () => {})];
  job('c', { needs: all }, async () => {});
});`);
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      [ErrorCodes.analysisNotStatic, 3, 16],
      [ErrorCodes.analysisNotStatic, 3, 42],
    ]);
    expect(result.diagnostics[0]?.message).toContain("job 'a' is used inside an expression");
  });

  it('requires a synchronous build function and at least one job', () => {
    const asyncBuild = analyze(`${header}export default pipeline('p', async () => { job('a', async () => {}); });`);
    expect(asyncBuild.diagnostics).toMatchObject([
      { code: ErrorCodes.analysisInvalidValue, line: 2, column: 30, message: expect.stringContaining('synchronous') },
    ]);
    const empty = analyze(`${header}export default pipeline('p', () => {});`);
    expect(empty.diagnostics).toMatchObject([
      { code: ErrorCodes.analysisInvalidValue, line: 2, column: 16, message: "pipeline 'p' declares no jobs" },
    ]);
  });

  it('explains a default export that calls a pipeline() not imported from the SDK', () => {
    const result = analyze(
      "const pipeline = (n: string, f: () => void) => f();\nexport default pipeline('p', () => {});",
    );
    expect(result.diagnostics).toMatchObject([
      {
        code: ErrorCodes.analysisNoDefaultExport,
        line: 2,
        column: 16,
        hint: "Import it: import { pipeline, job } from '@hiveforge/sdk';",
      },
    ]);
  });

  it('checks image, trigger, input and condition shapes in one pass', () => {
    const result = analyze(`${header}const img = image('bad name', { from: '', extra: 1 });
export default pipeline('p', { on: { push: false, manual: { inputs: { env: { type: 'choice', options: [] } } } } }, () => {
  job('a', { retries: -1, image: img, if: { event: 'pull_request' }, env: { A: [1] }, matrix: {} }, async () => {});
  job('b', { labels: ['x'] });
});`);
    expect(result.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`)).toEqual([
      '2:19 image name "bad name" is invalid: use letters, digits, "_", "." and "-", starting with a letter or digit (at most 100 characters)',
      '2:39 the image › from must not be empty',
      '2:43 the image has no option `extra`.',
      "3:44 pipeline 'p' › on › push must be `true` or an options object, got `false`",
      "3:103 pipeline 'p' › on › manual › inputs › env › options is empty",
      "4:23 job 'a' › retries must be an integer from 0 to 10, got the number -1",
      "4:52 job 'a' › if › event must be one of 'push', 'pullRequest', 'schedule', 'manual', 'local', got the string \"pull_request\". Did you mean 'pullRequest'?",
      "4:80 job 'a' › env › A must be a string, number or boolean, got an array",
      "4:95 job 'a' › matrix is empty",
      "5:12 job 'b': the last argument must be the body function, got the options",
    ]);
  });

  it('rejects two different images that share a name', () => {
    const result = analyze(`${header}const a = image('node', { from: 'node:20@sha256:${'a'.repeat(64)}' });
const b = image('node', { from: 'node:22@sha256:${'b'.repeat(64)}' });
export default pipeline('p', () => {
  job('x', { image: a }, async () => {});
  job('y', { image: b }, async () => {});
});`);
    expect(result.diagnostics).toMatchObject([
      { code: ErrorCodes.analysisInvalidValue, line: 3, column: 11, message: expect.stringContaining('line 2') },
    ]);
  });

  it('turns absurd nesting into a diagnostic instead of a crash, and keeps working after it', () => {
    const deep = `${'['.repeat(5_000)}'x'${']'.repeat(5_000)}`;
    const result = analyze(
      `${header}export default pipeline('p', () => { job('a', { labels: ${deep} }, async () => {}); });`,
    );
    expect(result.diagnostics).toMatchObject([
      { code: ErrorCodes.analysisSource, line: 1, column: 1, message: expect.stringContaining('nested too deeply') },
    ]);
    expect(
      ok(analyze(`${header}export default pipeline('p', () => { job('a', async () => {}); });`)).jobs,
    ).toHaveLength(1);
  });

  it('reports a missing entry file at 1:1', () => {
    const result = analyzer.analyze({ entry: 'ci/hiveforge.ts', files: {} });
    expect(result.diagnostics).toMatchObject([{ code: ErrorCodes.analysisSource, file: 'ci/hiveforge.ts', line: 1 }]);
  });
});
