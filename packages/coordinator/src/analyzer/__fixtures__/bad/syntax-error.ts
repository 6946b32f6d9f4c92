import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { retries: 1,, }, async () => {});
});
