import { image, job, pipeline } from '@hiveforge/sdk';

const node20 = image('node20', { from: 'node:20-bookworm' });

export default pipeline('p', { strictImages: true }, () => {
  job('build', { image: node20 }, async () => {});
});
