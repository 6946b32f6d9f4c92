import { checkout, npm } from '@hiveforge/actions';
import { job, pipeline } from '@hiveforge/sdk';

// Install once; lint, type-check and test in parallel on that install; build once all three pass.
// The install travels to the other jobs as the `node_modules` artifact.
export default pipeline('node-lib-standalone', { on: { push: { branches: ['main'] }, pullRequest: true } }, () => {
  const install = job('install', { timeout: '10m' }, async (ctx) => {
    await checkout(ctx);
    await npm.ci(ctx);
    await ctx.upload('node_modules');
  });

  const lint = job('lint', { needs: [install], timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await ctx.download('node_modules');
    await npm.run(ctx, { script: 'lint' });
  });

  const types = job('types', { needs: [install], timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await ctx.download('node_modules');
    await npm.run(ctx, { script: 'types' });
  });

  const test = job('test', { needs: [install], timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await ctx.download('node_modules');
    await npm.test(ctx);
  });

  job('build', { needs: [lint, types, test], timeout: '5m' }, async (ctx) => {
    await checkout(ctx);
    await ctx.download('node_modules');
    await npm.run(ctx, { script: 'build' });
    await ctx.upload('dist');
  });
});
