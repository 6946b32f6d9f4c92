import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { labels }, async () => {});
});

const labels = ['linux'];
