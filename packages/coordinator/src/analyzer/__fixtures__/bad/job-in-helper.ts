import { job, pipeline } from '@hiveforge/sdk';

function addTests() {
  job('test', async () => {});
}

export default pipeline('p', () => {
  job('build', async () => {});
  addTests();
});
