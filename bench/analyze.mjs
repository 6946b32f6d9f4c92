// Analysis speed on a generated 1,000-job pipeline.
//   warm: one reused analyzer, the file changed between runs (what a coordinator does per deploy)
//   cold: a whole `hiveforge validate` process
// Baselines measured in the same run: parsing the same file with the TypeScript parser alone
// (warm), and starting a bare `node` process (cold).
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAnalyzer } from '@hiveforge/coordinator';
import ts from 'typescript';
import { fmt, generatedPipeline, median, writeProject } from './lib.mjs';

const JOBS = 1000;
const cli = fileURLToPath(new URL('../packages/cli/bin/hiveforge.js', import.meta.url));

export async function benchAnalyze({ warmRuns = 15, coldRuns = 5 } = {}) {
  const dir = await writeProject('analyze', generatedPipeline(JOBS));
  const file = join(dir, 'hiveforge.ts');
  const analyzer = createAnalyzer();
  const first = analyzer.analyze({ entry: 'hiveforge.ts', root: dir });
  if (!first.ok) throw new Error(`the generated pipeline did not analyze: ${first.diagnostics[0]?.message}`);
  const jobCount = first.spec.jobs.length;

  const warm = [];
  const parse = [];
  for (let i = 0; i < warmRuns; i++) {
    const source = generatedPipeline(JOBS, `v${i}`);
    await writeFile(file, source);
    let t = performance.now();
    const result = analyzer.analyze({ entry: 'hiveforge.ts', root: dir });
    warm.push(performance.now() - t);
    if (!result.ok) throw new Error('warm analysis failed');
    t = performance.now();
    ts.createSourceFile('hiveforge.ts', await readFile(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    parse.push(performance.now() - t);
  }

  const cold = [];
  const bare = [];
  for (let i = 0; i < coldRuns; i++) {
    let t = performance.now();
    const r = spawnSync(process.execPath, [cli, 'validate', dir], { encoding: 'utf8' });
    cold.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`hiveforge validate failed: ${r.stderr}`);
    t = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    bare.push(performance.now() - t);
  }
  await rm(dir, { recursive: true, force: true });
  return {
    jobs: jobCount,
    warmMs: median(warm),
    parseMs: median(parse),
    coldMs: median(cold),
    bareNodeMs: median(bare),
  };
}

export function reportAnalyze(r) {
  return [
    `analysis of a generated pipeline (${r.jobs} job instances)`,
    `  warm analyze (reused analyzer)     p50 ${fmt(r.warmMs)}   goal < 200 ms   ${r.warmMs < 200 ? 'MET' : 'MISSED'}`,
    `    baseline: TypeScript parse only  p50 ${fmt(r.parseMs)}   ratio ${(r.warmMs / r.parseMs).toFixed(1)}x`,
    `  cold 'hiveforge validate' process  p50 ${fmt(r.coldMs)}   goal < 1500 ms  ${r.coldMs < 1500 ? 'MET' : 'MISSED'}`,
    `    baseline: bare 'node -e 0'       p50 ${fmt(r.bareNodeMs)}   ratio ${(r.coldMs / r.bareNodeMs).toFixed(1)}x`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(reportAnalyze(await benchAnalyze()));
