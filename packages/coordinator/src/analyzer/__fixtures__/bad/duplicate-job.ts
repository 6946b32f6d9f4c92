import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', async () => {});
  job('test', async () => {});
  job('build', { retries: 1 }, async () => {});
});
