import * as hf from '@hiveforge/sdk';

const node20 = hf.image('node20', {
  from: 'node:20-bookworm@sha256:0000000000000000000000000000000000000000000000000000000000000001',
  steps: ['npm i -g pnpm@9'],
  env: { PNPM_HOME: '/pnpm' },
  workdir: '/work',
});

export default hf.pipeline('namespace', { on: [hf.push({ branches: ['main'] })], strictImages: true }, () => {
  const build = hf.job('build', { image: node20 }, async () => {});
  hf.job('release', { needs: [build], image: node20, if: { event: hf.TriggerEvent.push, branch: ['main'] } }, async () => {});
});
