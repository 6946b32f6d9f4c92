// Times the analyzer on generated 1,000-job pipelines, the way a coordinator runs it.
//
//   npx tsc -b packages/coordinator
//   npx tsx packages/coordinator/src/analyzer/__fixtures__/bench-analyzer.ts [lean|large] [runs]
//
// The pipelines are written to a temporary directory; every measurement runs the built
// analyzer (packages/coordinator/dist) in fresh plain `node` processes:
//  - cold: node starts, imports the analyzer, analyzes once, exits (wall time of the process);
//  - warm: analyze() runs three times on changing text in one process; the second call is the
//    warm re-analysis the target is about.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateLargePipeline, generateLeanPipeline, largeConfig } from './generate-large-pipeline.js';

const kind = process.argv[2] === 'lean' ? 'lean' : 'large';
const runs = Number(process.argv[3] ?? 7);
const built = new URL('../../../dist/analyzer/index.js', import.meta.url).href;
const dir = path.join(tmpdir(), `hiveforge-analyzer-bench-${kind}`);
mkdirSync(dir, { recursive: true });
for (const variant of [0, 1, 2]) {
  const text = kind === 'lean' ? generateLeanPipeline(1_000, variant) : generateLargePipeline(1_000, variant);
  writeFileSync(path.join(dir, `hiveforge-${variant}.ts`), text);
}
writeFileSync(path.join(dir, 'large-config.ts'), largeConfig);

const child = (analyses: number) => `
  import { readFileSync } from 'node:fs';
  import { createAnalyzer } from ${JSON.stringify(built)};
  const config = readFileSync(${JSON.stringify(path.join(dir, 'large-config.ts'))}, 'utf8');
  const inputs = [0, 1, 2].slice(0, ${analyses}).map((v) => ({
    entry: 'hiveforge.ts',
    files: { 'hiveforge.ts': readFileSync(${JSON.stringify(dir)} + '/hiveforge-' + v + '.ts', 'utf8'), 'large-config.ts': config },
  }));
  const analyzer = createAnalyzer();
  const times = inputs.map((input) => {
    const start = performance.now();
    const result = analyzer.analyze(input);
    if (!result.ok) throw new Error(JSON.stringify(result.diagnostics.slice(0, 3)));
    return performance.now() - start;
  });
  console.log(JSON.stringify({ times, bytes: inputs[0].files['hiveforge.ts'].length }));`;

const run = (analyses: number) => {
  const start = performance.now();
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', child(analyses)], { encoding: 'utf8' });
  return { ...(JSON.parse(out) as { times: number[]; bytes: number }), wall: performance.now() - start };
};
const cold = Array.from({ length: runs }, () => run(1));
const warm = Array.from({ length: runs }, () => run(3));
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]?.toFixed(0);
console.log(`${kind} pipeline: 1,000 job() calls, ${cold[0]?.bytes} bytes; medians of ${runs} fresh processes each`);
console.log(`  cold process (node start + imports + 1 analyze): ${median(cold.map((r) => r.wall))} ms`);
console.log(`  1st analyze in a process (cold):                 ${median(warm.map((r) => r.times[0] ?? 0))} ms`);
console.log(`  2nd analyze, text changed (warm):                ${median(warm.map((r) => r.times[1] ?? 0))} ms`);
console.log(`  3rd analyze, text changed (warm):                ${median(warm.map((r) => r.times[2] ?? 0))} ms`);
