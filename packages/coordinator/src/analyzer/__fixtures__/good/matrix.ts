import { job, pipeline } from '@hiveforge/sdk';

const nodes = [18, 20, 22] as const;

export default pipeline('matrix', () => {
  const build = job('build', async () => {});
  const test = job('test', { needs: [build], matrix: { node: nodes, os: ['linux', 'macos'] } }, async (ctx) => {
    await ctx.sh`node --version`;
  });
  job('publish', { needs: [test, 'test[node=18,os=linux]'], matrix: { registry: ['npm', 'github'] } }, async () => {});
});
