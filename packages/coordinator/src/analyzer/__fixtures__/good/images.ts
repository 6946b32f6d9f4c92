import { type JobOptions, job, pipeline } from '@hiveforge/sdk';
import { node20, rust } from './shared/images.js';

const testOptions = { image: node20, retries: 1, labels: ['linux'] } satisfies JobOptions;

function declareJobs() {
  const build = job('build', { image: rust }, async () => {});
  job('test', { ...testOptions, needs: [build] }, async () => {});
  job('lint', testOptions, async () => {});
}

const ci = pipeline('images', { strictImages: true, env: { CI: 'true' } }, declareJobs);

export default ci;
