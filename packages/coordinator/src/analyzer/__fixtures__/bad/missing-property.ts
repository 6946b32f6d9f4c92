import { job, pipeline } from '@hiveforge/sdk';

const config = { retries: 1, labels: ['linux'] };

export default pipeline('p', () => {
  job('build', { retries: config.retires }, async () => {});
});
