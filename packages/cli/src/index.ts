/**
 * `hiveforge`: the command line. `hiveforge run` runs a pipeline on this machine;
 * `validate` and `graph` analyze it statically; `login`, `deploy`, `trigger`, `runs`, `status`,
 * `logs`, `cancel`, `retry`, `artifacts`, `agents`, `tokens` and `secrets` use a running cluster.
 *
 * @example
 * ```sh
 * npx hiveforge run examples/hello
 * npx hiveforge graph --format mermaid
 * npx hiveforge login http://127.0.0.1:7700 --token "$HIVEFORGE_TOKEN" && npx hiveforge trigger web --follow
 * ```
 *
 * @module
 */
export { main, createProgram } from './main.js';
export { runCommand, type RunCommandOptions, type CommandIO } from './commands/run.js';
export { graphCommand, validateCommand } from './commands/analyze.js';
export { packagePipeline, projectRoot, type PipelinePackage } from './bundle.js';
export { createUserClient, type UserClient } from './user-client.js';
