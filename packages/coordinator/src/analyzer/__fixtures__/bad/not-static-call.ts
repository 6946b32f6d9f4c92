import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { retries: Math.max(1, 2) }, async () => {});
});
