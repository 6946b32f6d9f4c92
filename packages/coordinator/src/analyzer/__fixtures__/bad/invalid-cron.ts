import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', { on: { schedule: ['0 3 * * *', '0 25 * * *'] } }, () => {
  job('nightly', async () => {});
});
