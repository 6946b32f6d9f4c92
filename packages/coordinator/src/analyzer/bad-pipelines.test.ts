import { fileURLToPath } from 'node:url';
import { type ErrorCode, ErrorCodes } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from './index.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));

interface Expected {
  code: ErrorCode;
  line: number;
  column: number;
  /** Facts the message must state. */
  mentions: string[];
  /** Defaults to the fixture itself. */
  file?: string;
  /** Facts the hint must state. */
  hint?: string[];
}

const C = ErrorCodes;

const CASES: Record<string, Expected> = {
  'not-static-call': {
    code: C.analysisNotStatic,
    line: 4,
    column: 27,
    mentions: ["job 'build' › retries", '`Math.max(1, 2)` is a function call'],
    hint: ['literal'],
  },
  'not-static-env': {
    code: C.analysisNotStatic,
    line: 4,
    column: 7,
    mentions: ['the job name', '`process.env.JOB_NAME`', 'environment'],
    hint: ['inside the job body'],
  },
  'not-static-let': {
    code: C.analysisNotStatic,
    line: 7,
    column: 27,
    mentions: ['`attempts` is declared with `let`'],
    hint: ['`const`'],
  },
  'not-static-imported-call': {
    code: C.analysisNotStatic,
    file: 'bad/helpers/computed.ts',
    line: 3,
    column: 32,
    mentions: ["job 'build' › labels[0]", '`platform()` is a function call'],
  },
  'job-in-loop': {
    code: C.analysisNotStatic,
    line: 5,
    column: 5,
    mentions: ['inside a loop'],
    hint: ['matrix'],
  },
  'job-in-condition': {
    code: C.analysisNotStatic,
    line: 6,
    column: 5,
    mentions: ["job 'deploy'", 'inside a condition'],
    hint: ['`if: {'],
  },
  'job-in-helper': {
    code: C.analysisNotStatic,
    line: 4,
    column: 3,
    mentions: ["job 'test'", 'inside a nested function'],
    hint: ['directly in the function given to pipeline()'],
  },
  'invalid-retries': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 27,
    mentions: ["job 'build' › retries", 'integer from 0 to 10', 'the string "two"'],
  },
  'invalid-disk': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 24,
    mentions: ["job 'build' › disk", '"10 megs" is not a valid size'],
    hint: ["'512Mi'"],
  },
  'unknown-option': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 37,
    mentions: ["job 'build' has no option `retry`", 'Did you mean `retries`?'],
    hint: ['needs, image, labels, env, secrets, timeout, retries, disk, matrix, if, concurrency'],
  },
  'unknown-trigger-key': {
    code: C.analysisInvalidValue,
    line: 3,
    column: 44,
    mentions: ['push trigger has no option `branchs`', 'Did you mean `branches`?'],
  },
  'invalid-job-name': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 7,
    mentions: ['job name "build and test" is invalid'],
    hint: ['"build-and-test"'],
  },
  'invalid-duration': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 27,
    mentions: ["job 'build' › timeout", '"15 minutes" is not a valid duration'],
    hint: ["'15m'"],
  },
  'image-not-declared': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 25,
    mentions: ["job 'build' › image must be an image declared with image()", 'the string "node:20"'],
  },
  'missing-property': {
    code: C.analysisInvalidValue,
    line: 6,
    column: 34,
    mentions: ['no property `retires`', 'Did you mean `retries`?'],
  },
  'used-before-declaration': {
    code: C.analysisInvalidValue,
    line: 4,
    column: 18,
    mentions: ['`labels` is used before its declaration on line 7'],
  },
  cycle: {
    code: C.analysisCycle,
    line: 4,
    column: 32,
    mentions: ['a -> c -> b -> a'],
  },
  'self-need': {
    code: C.analysisCycle,
    line: 4,
    column: 26,
    mentions: ["job 'build' needs itself", 'build -> build'],
  },
  'unknown-need': {
    code: C.analysisUnknownNeed,
    line: 5,
    column: 25,
    mentions: ["job 'test' needs 'biuld'", "Did you mean 'build'?"],
  },
  'duplicate-job': {
    code: C.analysisDuplicateJob,
    line: 6,
    column: 3,
    mentions: ["job 'build' is declared twice", 'on line 4'],
    hint: ['matrix'],
  },
  'matrix-collision': {
    code: C.analysisDuplicateJob,
    line: 4,
    column: 42,
    mentions: ['repeats the value "18"', 'line 4, column 34', "'test[node=18]'"],
  },
  'invalid-cron': {
    code: C.analysisInvalidCron,
    line: 3,
    column: 62,
    mentions: ['hour "25" is out of range 0-23'],
  },
  'unpinned-strict': {
    code: C.analysisUnpinnedImage,
    line: 3,
    column: 40,
    mentions: ["image 'node20' is not pinned by digest", '"node:20-bookworm"'],
    hint: ['node:20-bookworm@sha256:', 'strictImages'],
  },
  'undeclared-secret': {
    code: C.analysisUndeclaredSecret,
    line: 5,
    column: 92,
    mentions: [
      "job 'deploy' reads the secret 'DEPLOY_TOKN'",
      "it declares 'DEPLOY_TOKEN'",
      "Did you mean 'DEPLOY_TOKEN'?",
    ],
    hint: ["Add 'DEPLOY_TOKN' to the job's secrets", "secrets: ['DEPLOY_TOKEN', 'DEPLOY_TOKN']"],
  },
  'no-default-export': {
    code: C.analysisNoDefaultExport,
    line: 1,
    column: 1,
    mentions: ['has no default export', '`ci`'],
    hint: ['export default ci;'],
  },
  'default-not-pipeline': {
    code: C.analysisNoDefaultExport,
    line: 5,
    column: 16,
    mentions: ['is not a pipeline', "{ name: 'p', build }"],
  },
  'syntax-error': {
    code: C.analysisSource,
    line: 4,
    column: 29,
    mentions: ['syntax error', 'Property assignment expected'],
  },
  'missing-import': {
    code: C.analysisSource,
    line: 2,
    column: 24,
    mentions: ['cannot read "./helpers/does-not-exist.js"', 'bad/helpers/does-not-exist.js'],
  },
};

describe('analyzer on bad pipelines', () => {
  const analyzer = createAnalyzer();

  it.each(Object.entries(CASES))('%s', (name, expected) => {
    const entry = `bad/${name}.ts`;
    const result = analyzer.analyze({ root: fixtures, entry });
    expect(result.ok).toBe(false);
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    const [error] = errors;
    expect(error).toMatchObject({
      code: expected.code,
      file: expected.file ?? entry,
      line: expected.line,
      column: expected.column,
    });
    for (const fact of expected.mentions) expect(error?.message).toContain(fact);
    for (const fact of expected.hint ?? []) expect(error?.hint).toContain(fact);
    expect(error?.hint.length).toBeGreaterThan(10);
  });

  it('warns that a helper called from the pipeline function is not analyzed', () => {
    const result = analyzer.analyze({ root: fixtures, entry: 'bad/job-in-helper.ts' });
    expect(result.diagnostics.filter((d) => d.severity === 'warning')).toEqual([
      expect.objectContaining({
        code: C.analysisNotStatic,
        line: 9,
        column: 3,
        message: expect.stringContaining('`addTests()` is not analyzed'),
      }),
    ]);
  });

  it('reports undeclared secret reads through an element access, a cast, a destructured parameter and a job without options', () => {
    const result = analyzer.analyze({ root: fixtures, entry: 'bad/undeclared-secret-forms.ts' });
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column, d.message.split(',')[0]])).toEqual([
      [C.analysisUndeclaredSecret, 5, 21, "job 'a' reads the secret 'B'"],
      [C.analysisUndeclaredSecret, 5, 66, "job 'a' reads the secret 'C'"],
      [C.analysisUndeclaredSecret, 8, 16, "job 'b' reads the secret 'D'"],
      [C.analysisUndeclaredSecret, 11, 25, "job 'c' reads the secret 'E'"],
    ]);
    expect(result.diagnostics.every((d) => d.severity === 'error')).toBe(true);
  });

  it('collects every problem of a file in one pass, in source order', () => {
    const result = analyzer.analyze({ root: fixtures, entry: 'bad/many-errors.ts' });
    expect(result.diagnostics.map((d) => [d.code, d.line, d.column])).toEqual([
      [C.analysisInvalidCron, 3, 48],
      [C.analysisInvalidValue, 4, 41],
      [C.analysisUnknownNeed, 5, 32],
      [C.analysisNotStatic, 5, 49],
      [C.analysisDuplicateJob, 6, 3],
    ]);
  });
});
