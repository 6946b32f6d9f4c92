export { dockerLabels } from './config.js';
export const extraEnv = { FEATURE_X: 'on' };
