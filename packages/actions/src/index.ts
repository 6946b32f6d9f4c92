/**
 * `@hiveforge/actions`: reusable steps. An action is a typed async function over the job
 * context, so this is an ordinary npm package; write your own with `defineAction`.
 *
 * @example
 * ```ts
 * import { checkout, npm } from '@hiveforge/actions';
 *
 * job('build', async (ctx) => {
 *   await checkout(ctx);
 *   await npm.ci(ctx, { args: ['--legacy-peer-deps'] });
 *   await npm.run(ctx, { script: 'build' });
 * });
 * ```
 *
 * @module
 */
export { cache, restoreKeyedCache, type CacheActionOptions } from './cache.js';
export {
  cargo,
  gradle,
  maven,
  sbt,
  type BuildToolOptions,
  type CachedBuildToolOptions,
  type CargoOptions,
  type GradleOptions,
  type MavenOptions,
  type SbtOptions,
} from './build-tools.js';
export { checkout, type CheckoutOptions } from './checkout.js';
export { npm, type NpmCiOptions, type NpmOptions, type NpmRunOptions, type NpmTestOptions } from './npm.js';
export { setupNode, type SetupNodeOptions } from './setup-node.js';
