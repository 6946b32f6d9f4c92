import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job('build', async () => {});
  job('test', { needs: ['biuld'] }, async () => {});
});
