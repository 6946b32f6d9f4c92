import { platform } from 'node:os';

export const computedLabels = [platform()];
