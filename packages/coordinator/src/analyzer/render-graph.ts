import type { PipelineSpec } from '@hiveforge/sdk';

/** The formats {@link renderGraph} can produce. */
export type GraphFormat = 'text' | 'mermaid' | 'dot' | 'json';

/** The graph of a pipeline as data: one node per job instance, one edge per need. */
export interface PipelineGraph {
  nodes: { id: string; job: string; image: string | null; labels: string[] }[];
  /** `from` must succeed before `to` starts. */
  edges: { from: string; to: string }[];
}

/**
 * Renders the dependency graph of a pipeline.
 * - `text`: a tree for terminals. Jobs without needs are roots; each job is indented under the
 *   jobs it needs. A job with several needs is shown in full once and as `(see above)` after.
 * - `mermaid`: a `graph TD` flowchart, edges from a need to the job that needs it.
 * - `dot`: a Graphviz digraph with the same edges.
 * - `json`: {@link PipelineGraph}, pretty-printed.
 * @example renderGraph(spec, 'mermaid')
 */
export function renderGraph(spec: PipelineSpec, format: GraphFormat): string {
  switch (format) {
    case 'text':
      return renderText(spec);
    case 'mermaid':
      return renderMermaid(spec);
    case 'dot':
      return renderDot(spec);
    case 'json':
      return `${JSON.stringify(toGraph(spec), null, 2)}\n`;
  }
}

/** The graph of a pipeline as nodes and edges. */
export function toGraph(spec: PipelineSpec): PipelineGraph {
  return {
    nodes: spec.jobs.map((j) => ({ id: j.name, job: j.job, image: j.image, labels: [...j.labels] })),
    edges: spec.jobs.flatMap((j) => j.needs.map((need) => ({ from: need, to: j.name }))),
  };
}

function dependentsOf(spec: PipelineSpec): Map<string, string[]> {
  const dependents = new Map<string, string[]>(spec.jobs.map((j) => [j.name, []]));
  for (const job of spec.jobs) for (const need of job.needs) dependents.get(need)?.push(job.name);
  return dependents;
}

function renderText(spec: PipelineSpec): string {
  const dependents = dependentsOf(spec);
  const neededBy = new Map(spec.jobs.map((j) => [j.name, j.needs.length]));
  const shown = new Set<string>();
  const lines: string[] = [];
  const walk = (name: string, prefix: string, connector: string, childPrefix: string) => {
    const multiple = (neededBy.get(name) ?? 0) > 1;
    if (shown.has(name)) {
      lines.push(`${prefix}${connector}${name} (see above)`);
      return;
    }
    shown.add(name);
    const needs = spec.jobs.find((j) => j.name === name)?.needs ?? [];
    lines.push(`${prefix}${connector}${name}${multiple ? `  [needs: ${needs.join(', ')}]` : ''}`);
    const children = dependents.get(name) ?? [];
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      walk(child, prefix + childPrefix, last ? '└── ' : '├── ', last ? '    ' : '│   ');
    });
  };
  const roots = spec.jobs.filter((j) => j.needs.length === 0).map((j) => j.name);
  for (const root of roots) walk(root, '', '', '');
  // A valid spec has no cycles, so every job hangs under a root; this keeps output total anyway.
  for (const job of spec.jobs) if (!shown.has(job.name)) walk(job.name, '', '', '');
  return `${lines.join('\n')}\n`;
}

function mermaidIds(spec: PipelineSpec): Map<string, string> {
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const job of spec.jobs) {
    const base = job.name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/_+$/, '') || 'job';
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
    used.add(id);
    ids.set(job.name, id);
  }
  return ids;
}

function renderMermaid(spec: PipelineSpec): string {
  const ids = mermaidIds(spec);
  const label = (name: string) => name.replaceAll('"', '#quot;');
  const lines = ['graph TD'];
  for (const job of spec.jobs) lines.push(`  ${ids.get(job.name)}["${label(job.name)}"]`);
  for (const job of spec.jobs) {
    for (const need of job.needs) lines.push(`  ${ids.get(need) ?? need} --> ${ids.get(job.name)}`);
  }
  return `${lines.join('\n')}\n`;
}

function renderDot(spec: PipelineSpec): string {
  const q = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  const lines = [`digraph ${q(spec.name)} {`, '  rankdir=TB;', '  node [shape=box];'];
  for (const job of spec.jobs) lines.push(`  ${q(job.name)};`);
  for (const job of spec.jobs) for (const need of job.needs) lines.push(`  ${q(need)} -> ${q(job.name)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
