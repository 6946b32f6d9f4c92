import { job, pipeline } from '@hiveforge/sdk';

export const ci = pipeline('p', () => {
  job('build', async () => {});
});
