// Re-exports, one and two hops away from the definitions.
export { branches, config as settings } from './config.js';
export * from './more.js';
