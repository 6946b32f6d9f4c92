import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('basic', () => {
  const build = job('build', { labels: ['linux'], env: { NODE_ENV: 'production', WORKERS: 4, CI: true } }, async (ctx) => {
    await ctx.sh`npm run build`;
  });
  const lint = job('lint', { disk: '2Gi' }, async (ctx) => {
    await ctx.sh`npm run lint`;
  });
  job(
    'test',
    { needs: [build, 'lint'], retries: 2, timeout: '15m', secrets: ['NPM_TOKEN'], concurrency: 'tests' },
    async (ctx) => {
      await ctx.sh`npm test`;
    },
  );
  {
    // A plain block is still straight-line code.
    job(
      'deploy',
      { needs: [lint, build], timeout: 90_000, retries: undefined, resources: { cpus: 0.5, memory: '1Gi' }, user: 'root' },
      async () => {},
    );
  }
});
