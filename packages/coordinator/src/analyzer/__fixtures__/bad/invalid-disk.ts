import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { disk: '10 megs' }, async () => {});
});
