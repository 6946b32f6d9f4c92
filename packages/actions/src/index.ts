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
 *   await npm.ci(ctx);
 *   await npm.run(ctx, { script: 'build' });
 * });
 * ```
 *
 * @module
 */
export { cargo, maven, sbt, type BuildToolOptions } from './build-tools.js';
export { checkout, type CheckoutOptions } from './checkout.js';
export { npm, type NpmOptions } from './npm.js';
export { setupNode } from './setup-node.js';
