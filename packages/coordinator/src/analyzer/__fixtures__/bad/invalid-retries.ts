import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { retries: 'two' }, async () => {});
});
