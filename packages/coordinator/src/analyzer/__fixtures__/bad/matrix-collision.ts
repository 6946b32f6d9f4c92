import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('test', { matrix: { node: [18, 20, '18'] } }, async () => {});
});
