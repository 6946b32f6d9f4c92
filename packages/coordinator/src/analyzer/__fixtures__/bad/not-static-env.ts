import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  job(process.env.JOB_NAME!, async () => {});
});
