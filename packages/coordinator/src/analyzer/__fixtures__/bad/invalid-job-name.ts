import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build and test', async () => {});
});
