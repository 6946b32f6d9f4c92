import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  for (const node of [18, 20]) {
    job(`test-${node}`, async () => {});
  }
});
