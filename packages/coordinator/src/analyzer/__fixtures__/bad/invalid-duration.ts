import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { timeout: '15 minutes' }, async () => {});
});
