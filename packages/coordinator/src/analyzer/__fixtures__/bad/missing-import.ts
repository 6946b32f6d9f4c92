import { job, pipeline } from '@hiveforge/sdk';
import { labels } from './helpers/does-not-exist.js';

export default pipeline('p', () => {
  job('build', { labels }, async () => {});
});
