import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('secrets', () => {
  job('deploy', { secrets: ['DEPLOY_TOKEN', 'NPM_TOKEN'] }, async (ctx) => {
    await ctx.sh('./deploy.sh', { env: { TOKEN: ctx.secrets.DEPLOY_TOKEN, NPM: ctx.secrets['NPM_TOKEN'] } });
    // A nested function's own `ctx` is not this job's context.
    const other = (ctx: { secrets: Record<string, string> }) => ctx.secrets.ANYTHING;
    other({ secrets: {} });
  });
  job('publish', { secrets: ['NPM_TOKEN'] }, async function ({ secrets, sh }) {
    await sh('npm publish', { env: { NODE_AUTH_TOKEN: secrets.NPM_TOKEN } });
  });
  job('plain', async (ctx) => {
    ctx.log(ctx.env.HOME ?? '');
  });
});
