import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', { on: { schedule: '61 * * * *' } }, () => {
  const build = job('build', { retries: 11 }, async () => {});
  job('test', { needs: [build, 'lnt'], timeout: Date.now() }, async () => {});
  job('test', async () => {});
});
