import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', { labels: ['linux'], retry: 2 }, async () => {});
});
