import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', async () => {});
  if (process.env.CI) {
    job('deploy', async () => {});
  }
});
