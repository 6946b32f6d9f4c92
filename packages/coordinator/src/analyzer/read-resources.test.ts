import { ErrorCodes } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { createAnalyzer } from './index.js';

const analyzer = createAnalyzer();
const analyze = (options: string) =>
  analyzer.analyze({
    entry: 'hiveforge.ts',
    files: {
      'hiveforge.ts': [
        "import { job, pipeline } from '@hiveforge/sdk';",
        "export default pipeline('p', () => {",
        `  job('build', ${options}, async (ctx) => { await ctx.sh\`true\`; });`,
        '});',
        '',
      ].join('\n'),
    },
  });

describe('job resources and user, read statically', () => {
  it.each([
    ["{ resources: { cpus: 1.5, memory: '256Mi' } }", { cpus: 1.5, memoryBytes: 256 * 1024 ** 2 }],
    ["{ resources: { memory: '1Gi' } }", { cpus: null, memoryBytes: 1024 ** 3 }],
    ["{ resources: { memory: '512m' } }", { cpus: null, memoryBytes: 512 * 1024 ** 2 }],
    ['{ resources: { cpus: 2, memory: 67108864 } }', { cpus: 2, memoryBytes: 64 * 1024 ** 2 }],
  ])('%s becomes container limits in the spec', (options, resources) => {
    const result = analyze(options);
    expect(result.diagnostics).toEqual([]);
    expect(result.ok && result.spec.jobs[0]?.resources).toEqual(resources);
  });

  it('a job without resources or user has none in its spec', () => {
    const result = analyze('{}');
    expect(result.ok && result.spec.jobs[0]).toMatchObject({ resources: null, user: null });
  });

  it("user: 'root' is in the spec", () => {
    const result = analyze("{ user: 'root' }");
    expect(result.ok && result.spec.jobs[0]?.user).toBe('root');
  });

  it.each([
    ["{ resources: { memory: '256 parsecs' } }", 'is not a memory size', "'256"],
    ["{ resources: { memory: '1Mi' } }", 'below the minimum of 6Mi', "'1Mi'"],
    ['{ resources: { memory: true } }', 'must be a size', 'true'],
    ['{ resources: { cpus: 0 } }', 'cpus must be a number above 0', '0'],
    ["{ resources: { cpus: '2' } }", 'cpus must be a number, got', "'2'"],
    ['{ resources: { cpus: 0.125 } }', 'at most two decimals', '0.125'],
    ['{ resources: { disks: 2 } }', 'has no option `disks`', 'disks'],
    ["{ user: 'root; rm -rf /' }", "must be 'root', a user name or 'uid:gid'", "'root;"],
  ])('%s is a diagnostic at the value', (options, message, at) => {
    const result = analyze(options);
    expect(result.ok).toBe(false);
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics[0]).toMatchObject({ code: ErrorCodes.analysisInvalidValue, line: 3 });
    expect(result.diagnostics[0]?.message).toContain(message);
    // The options start at column 16 of `  job('build', …`.
    expect(result.diagnostics[0]?.column).toBe(16 + options.indexOf(at));
  });
});
