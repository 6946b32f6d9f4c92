/**
 * Generates large pipelines for speed tests. `generateLargePipeline` writes 1,000-job-scale
 * files with realistic bodies (~300 bytes a job): needs chains by reference and by name, every
 * tenth job with a matrix, images, spread env from a local file. `generateLeanPipeline` writes
 * the minimal shape (~110 bytes a job): a needs chain, some matrices, one-line bodies.
 */
export function generateLargePipeline(jobs: number, variant = 0): string {
  const lines = [
    "import { pipeline, job, image, push, schedule } from '@hiveforge/sdk';",
    "import { shared } from './large-config.js';",
    '',
    `const node20 = image('node20', { from: 'node:20-bookworm@sha256:${'a'.repeat(64)}', steps: ['npm i -g pnpm'] });`,
    `const node22 = image('node22', { from: 'node:22-bookworm@sha256:${'b'.repeat(64)}' });`,
    '',
    `export default pipeline('large${variant}', { on: [push({ branches: shared.branches }), schedule('0 3 * * *')], env: { CI: true } }, () => {`,
  ];
  for (let i = 0; i < jobs; i++) {
    const needs: string[] = [];
    if (i > 0) needs.push(`j${i - 1}`);
    if (i >= 10 && i % 7 === 0) needs.push(`'job-${i - 10}'`);
    const options = [
      needs.length ? `needs: [${needs.join(', ')}]` : '',
      `image: ${i % 2 ? 'node20' : 'node22'}`,
      "labels: ['linux', 'x64']",
      `env: { ...shared.env, INDEX: ${i} }`,
      i % 10 === 5 ? "matrix: { node: [18, 20, 22], os: ['linux', 'mac'] }" : '',
      i % 3 === 0 ? "timeout: '15m'" : '',
      i % 4 === 0 ? 'retries: 2' : '',
    ].filter(Boolean);
    lines.push(
      `  const j${i} = job('job-${i}', { ${options.join(', ')} }, async (ctx) => {`,
      `    await ctx.sh\`npm run step-${i} -- --flag=${variant}\`;`,
      `    if (ctx.matrix) ctx.log.info('matrix', ctx.matrix);`,
      '    await ctx.upload(`dist/${ctx.job}`);',
      '  });',
    );
  }
  lines.push('});', '');
  return lines.join('\n');
}

/** The local file the large pipeline imports. */
export const largeConfig =
  "export const shared = { branches: ['main', 'release/*'], env: { NODE_ENV: 'test', CI_LEVEL: 3 } } as const;\n";

/** A minimal 1,000-job-scale pipeline: needs chains, some matrices, one-line bodies. */
export function generateLeanPipeline(jobs: number, variant = 0): string {
  const lines = ["import { pipeline, job } from '@hiveforge/sdk';", `export default pipeline('lean${variant}', () => {`];
  for (let i = 0; i < jobs; i++) {
    const needs = i ? `needs: [j${i - 1}${i > 5 && i % 5 === 0 ? `, 'job${i - 5}'` : ''}], ` : '';
    const matrix = i % 20 === 0 ? 'matrix: { node: [18, 20] }, ' : '';
    lines.push(
      `  const j${i} = job('job${i}', { ${needs}${matrix}retries: ${i % 3} }, async (ctx) => { await ctx.sh\`echo ${i} ${variant}\`; });`,
    );
  }
  lines.push('});', '');
  return lines.join('\n');
}
