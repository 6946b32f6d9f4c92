export const branches = ['main', 'release/*'] as const;

export const config = {
  retries: 1,
  labels: ['linux', 'x64'],
  timeout: '20m',
  env: { REGION: 'eu-west-1', DEBUG: false },
} as const;

const baseLabels = ['docker'];
export { baseLabels as dockerLabels };
