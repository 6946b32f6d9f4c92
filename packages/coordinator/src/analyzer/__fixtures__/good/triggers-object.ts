import { job, pipeline } from '@hiveforge/sdk';

export default pipeline(
  'triggers-object',
  {
    on: {
      push: { branches: ['main'], tags: ['v*'], paths: ['src/**'] },
      pullRequest: true,
      schedule: ['0 3 * * *', '@daily'],
      manual: {
        inputs: {
          target: { type: 'choice', options: ['staging', 'production'], default: 'staging', required: true },
          dryRun: { type: 'boolean', default: false, description: 'Only print what would happen' },
          count: { type: 'number' },
        },
      },
    },
    strictImages: false,
  },
  () => {
    job('deploy', { if: { branch: 'main', event: ['push', 'manual'] } }, async () => {});
  },
);
