import { join } from 'node:path';
import { analyzePipeline } from '@hiveforge/coordinator';
import { type PipelineSpec, describePipeline, isPipeline } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

const withoutSources = (spec: PipelineSpec) => ({
  ...spec,
  source: null,
  jobs: spec.jobs.map((j) => ({ ...j, source: null })),
});

describe.each(['hello', 'node-lib'])('examples/%s', (name) => {
  const root = join(repoRoot, 'examples', name);

  it('the static analysis equals what the pipeline declares when it runs', async () => {
    const result = analyzePipeline({ entry: 'hiveforge.ts', root });
    if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
    expect(result.diagnostics).toEqual([]);
    const mod = (await import(join(root, 'hiveforge.ts'))) as { default: unknown };
    if (!isPipeline(mod.default)) throw new Error('no default-exported pipeline');
    expect(withoutSources(result.spec)).toEqual(describePipeline(mod.default));
    for (const job of result.spec.jobs) expect(job.source?.file).toBe('hiveforge.ts');
  });

  it('validates and draws from the command line', async () => {
    const validate = await runCli(['validate', `examples/${name}`]);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(new RegExp(`✓ pipeline '${name}'`));
    const mermaid = await runCli(['graph', `examples/${name}`, '--format', 'mermaid']);
    expect(mermaid.code).toBe(0);
    expect(mermaid.stdout).toMatch(/^graph TD/);
  });
});

describe('hiveforge validate and graph on bad input', () => {
  it('validate exits 1 and prints each diagnostic with its position', async () => {
    const r = await runCli(['validate', 'test/fixtures/cycle']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hiveforge\.ts:\d+:\d+ error HF_ANALYSIS_CYCLE: /m);
    expect(r.stderr).toMatch(/hint: /);
  });

  it('graph refuses an unknown format with a clear error', async () => {
    const r = await runCli(['graph', 'examples/hello', '--format', 'png']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--format must be one of text, mermaid, dot, json/);
  });

  it('graph --format json lists nodes and edges', async () => {
    const r = await runCli(['graph', 'examples/hello', '--format', 'json']);
    const graph = JSON.parse(r.stdout) as { nodes: unknown[]; edges: unknown[] };
    expect(graph.nodes).toHaveLength(4);
    expect(graph.edges).toHaveLength(4);
  });
});
