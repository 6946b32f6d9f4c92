import { job, pipeline, push } from '@hiveforge/sdk';

export default pipeline('p', { on: [push({ branchs: ['main'] })] }, () => {
  job('build', async () => {});
});
