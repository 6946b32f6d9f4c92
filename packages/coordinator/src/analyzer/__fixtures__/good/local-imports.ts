import { job, pipeline } from '@hiveforge/sdk';
import { branches, dockerLabels, extraEnv, settings } from './shared/index.js';
import * as cfg from './shared/config.js';

const { retries } = settings;
const commonEnv = { ...settings.env, ...extraEnv, LEVEL: 3 };
const allLabels = [...dockerLabels, ...cfg.config.labels, 'extra'];

export default pipeline('local-imports', { on: { push: { branches } }, env: { ...commonEnv } }, () => {
  const build = job('build', { labels: allLabels, retries, timeout: cfg.config.timeout }, async () => {});
  const names = { build };
  job('test', { needs: [names.build], env: commonEnv, labels: [...settings.labels] }, async () => {});
});
