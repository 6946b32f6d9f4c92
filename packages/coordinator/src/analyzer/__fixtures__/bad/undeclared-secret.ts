import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('deploy', { secrets: ['DEPLOY_TOKEN'] }, async (ctx) => {
    await ctx.sh('./deploy.sh', { env: { TOKEN: ctx.secrets.DEPLOY_TOKEN, NPM: ctx.secrets.DEPLOY_TOKN } });
  });
});
