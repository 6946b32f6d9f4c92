import { checkout, npm } from '@hiveforge/actions';
import { job, pipeline } from '@hiveforge/sdk';

// Lint and build in parallel; test the built library once both pass.
export default pipeline('node-lib', { on: { push: { branches: ['main'] }, pullRequest: true } }, () => {
  const lint = job('lint', { timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await npm.run(ctx, { script: 'lint' });
  });

  const build = job('build', { timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await npm.run(ctx, { script: 'build' });
    await ctx.upload('dist');
  });

  job('test', { needs: [lint, build], timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await ctx.download('dist');
    await npm.test(ctx);
  });
});
