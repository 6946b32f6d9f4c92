import { job, pipeline } from '@hiveforge/sdk';

let attempts = 2;
attempts++;

export default pipeline('p', () => {
  job('build', { retries: attempts }, async () => {});
});
