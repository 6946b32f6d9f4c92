/**
 * `@hiveforge/sdk/runtime`: what an agent's job host needs to run a bundled job, without the
 * schemas (zod): loading them was most of a job host's start (see bench/executor.mjs).
 *
 * @example
 * ```ts
 * import { assemblePipelineSpec, declaredPipelineOf, isPipeline, structuralDigest } from '@hiveforge/sdk/runtime';
 * const digest = structuralDigest(assemblePipelineSpec(declaredPipelineOf(pipeline)));
 * ```
 *
 * @module
 */
export { assemblePipelineSpec, structuralDigest } from './assemble-spec.js';
export { checkCacheOptions } from './cache.js';
export { CacheInvalidError, ExecError, SpecDriftError, isHiveForgeError } from './errors.js';
export { declaredPipelineOf, isPipeline } from './pipeline.js';
export { renderCommand } from './shell.js';
