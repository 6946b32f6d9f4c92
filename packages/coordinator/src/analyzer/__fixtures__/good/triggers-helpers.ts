import { job as j, pipeline as definePipeline, manual, pullRequest, push, schedule } from '@hiveforge/sdk';

const nightly = ['0 2 * * 1-5'];

export default definePipeline(
  'triggers-helpers',
  {
    on: [
      push({ branches: ['main'] }),
      pullRequest({ branches: ['main'], paths: ['packages/**'] }),
      schedule('0 3 * * *', ...nightly),
      manual({ inputs: { reason: { type: 'string' } } }),
      push(),
    ],
  },
  () => {
    const build = j('build', async () => {});
    j('nightly-report', { needs: [build], if: { event: 'schedule' } }, async () => {});
  },
);
