/**
 * `hiveforge`: the command line. `hiveforge run` runs a pipeline on this machine;
 * `validate` and `graph` analyze it statically.
 *
 * @example
 * ```sh
 * npx hiveforge run examples/hello
 * npx hiveforge graph --format mermaid
 * ```
 *
 * @module
 */
export { main, createProgram } from './main.js';
export { runCommand, type RunCommandOptions, type CommandIO } from './commands/run.js';
export { graphCommand, validateCommand } from './commands/analyze.js';
export { packagePipeline, projectRoot, type PipelinePackage } from './bundle.js';
export { createUserClient, type UserClient } from './user-client.js';
