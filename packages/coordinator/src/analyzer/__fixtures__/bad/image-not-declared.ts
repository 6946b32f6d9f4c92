import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { image: 'node:20' }, async () => {});
});
