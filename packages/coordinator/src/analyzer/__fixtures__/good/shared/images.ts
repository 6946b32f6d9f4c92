import { image } from '@hiveforge/sdk';

export const node20 = image('node20', {
  from: 'node:20-bookworm@sha256:1111111111111111111111111111111111111111111111111111111111111111',
});

export const rust = image('rust', {
  from: 'rust:1.80@sha256:2222222222222222222222222222222222222222222222222222222222222222',
  steps: ['cargo install cargo-nextest'],
});
