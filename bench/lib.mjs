// Shared helpers of the benchmarks: percentiles, timing and a generated-project helper.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export const median = (values) => percentile(values, 50);
export const fmt = (ms) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;

/** Where generated projects go: inside the repository, so `@hiveforge/sdk` resolves. */
const WORK = fileURLToPath(new URL('./.work/', import.meta.url));

/** Writes a throwaway project (package.json + hiveforge.ts) and returns its directory. */
export async function writeProject(name, source) {
  await mkdir(WORK, { recursive: true });
  const dir = await mkdtemp(join(WORK, `${name}-`));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `bench-${name}`, private: true, type: 'module' }));
  await writeFile(join(dir, 'hiveforge.ts'), source);
  return dir;
}

/** A pipeline of `n` jobs: a chain with a fan-out every tenth job and a small matrix every 50th. */
export function generatedPipeline(n, salt = '') {
  const lines = [
    "import { job, pipeline } from '@hiveforge/sdk';",
    '',
    `export default pipeline('generated${salt}', () => {`,
  ];
  for (let i = 0; i < n; i++) {
    const needs = i === 0 ? '' : i % 10 === 0 ? `needs: [j${i - 1}, j${i - 10}], ` : `needs: [j${i - 1}], `;
    const extra = i % 50 === 25 ? `matrix: { shard: [1, 2] }, ` : '';
    lines.push(
      `  const j${i} = job('job-${i}', { ${needs}${extra}timeout: '10m', labels: ['linux'], env: { INDEX: ${i} } }, async (ctx) => { await ctx.sh\`true\`; });`,
    );
  }
  lines.push('  void j0;', '});', '');
  return lines.join('\n');
}

/** A chain of `n` jobs, each running `true`. */
export function chainPipeline(n) {
  const lines = ["import { job, pipeline } from '@hiveforge/sdk';", '', "export default pipeline('chain', () => {"];
  for (let i = 0; i < n; i++) {
    lines.push(
      `  const j${i} = job('j${i}', { ${i ? `needs: [j${i - 1}]` : ''} }, async (ctx) => { await ctx.sh\`true\`; });`,
    );
  }
  lines.push('  void j0;', '});', '');
  return lines.join('\n');
}
