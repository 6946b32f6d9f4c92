import { type PipelineSpec, buildPipelineSpec } from '@hiveforge/sdk';
import { describe, expect, it } from 'vitest';
import { renderGraph } from './index.js';

// build → (test, lint) → deploy: deploy has two needs, so the text tree shows it twice.
const diamond: PipelineSpec = buildPipelineSpec({
  name: 'diamond',
  jobs: [
    { name: 'build' },
    { name: 'test', needs: ['build'], matrix: { node: [18, 20] } },
    { name: 'lint', needs: ['build'] },
    { name: 'deploy', needs: ['test', 'lint'] },
  ],
});

describe('renderGraph', () => {
  it('text: roots first, dependents indented under their needs, repeats shown as references', () => {
    expect(renderGraph(diamond, 'text')).toBe(
      [
        'build',
        '├── test[node=18]',
        '│   └── deploy  [needs: test[node=18], test[node=20], lint]',
        '├── test[node=20]',
        '│   └── deploy (see above)',
        '└── lint',
        '    └── deploy (see above)',
        '',
      ].join('\n'),
    );
  });

  it('mermaid: a top-down flowchart with an edge from each need to its dependent', () => {
    const out = renderGraph(diamond, 'mermaid');
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('graph TD');
    expect(lines).toContain('  test_node_18["test[node=18]"]');
    const edges = lines.filter((l) => l.includes('-->')).map((l) => l.trim());
    expect(edges).toEqual([
      'build --> test_node_18',
      'build --> test_node_20',
      'build --> lint',
      'test_node_18 --> deploy',
      'test_node_20 --> deploy',
      'lint --> deploy',
    ]);
  });

  it('dot: a digraph with quoted names and the same edges', () => {
    const out = renderGraph(diamond, 'dot');
    expect(out.startsWith('digraph "diamond" {\n')).toBe(true);
    expect(out.trimEnd().endsWith('}')).toBe(true);
    const edges = out
      .split('\n')
      .filter((l) => l.includes('->'))
      .map((l) => l.trim());
    expect(edges).toEqual([
      '"build" -> "test[node=18]";',
      '"build" -> "test[node=20]";',
      '"build" -> "lint";',
      '"test[node=18]" -> "deploy";',
      '"test[node=20]" -> "deploy";',
      '"lint" -> "deploy";',
    ]);
  });

  it('json: nodes and edges that round-trip through JSON.parse', () => {
    const graph = JSON.parse(renderGraph(diamond, 'json')) as { nodes: { id: string }[]; edges: unknown[] };
    expect(graph.nodes.map((n) => n.id)).toEqual(['build', 'test[node=18]', 'test[node=20]', 'lint', 'deploy']);
    expect(graph.nodes[1]).toEqual({ id: 'test[node=18]', job: 'test', image: null, labels: [] });
    expect(graph.edges).toHaveLength(6);
    expect(graph.edges).toContainEqual({ from: 'lint', to: 'deploy' });
  });

  it('escapes quotes in names for dot and mermaid', () => {
    const spec = buildPipelineSpec({ name: 'q', jobs: [{ name: 'a', matrix: { v: ['x"y'] } }] });
    expect(renderGraph(spec, 'dot')).toContain('"a[v=x\\"y]";');
    expect(renderGraph(spec, 'mermaid')).toContain('a_v_x_y["a[v=x#quot;y]"]');
  });
});
