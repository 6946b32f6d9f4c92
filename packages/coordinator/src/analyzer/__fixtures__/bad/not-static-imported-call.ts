import { job, pipeline } from '@hiveforge/sdk';
import { computedLabels } from './helpers/computed.js';

export default pipeline('p', () => {
  job('build', { labels: computedLabels }, async () => {});
});
