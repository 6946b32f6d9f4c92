import { job, pipeline } from '@hiveforge/sdk';

export default pipeline('p', () => {
  const a = job('a', { needs: ['c'] }, async () => {});
  const b = job('b', { needs: [a] }, async () => {});
  job('c', { needs: [b] }, async () => {});
});
