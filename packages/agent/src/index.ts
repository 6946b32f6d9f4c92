/**
 * `@hiveforge/agent`: a stateless, disposable agent. It pulls jobs from coordinators over tRPC
 * and runs each one through an executor (process, Docker or Kubernetes).
 *
 * @example
 * ```ts
 * import { createAgent, createProcessExecutor } from '@hiveforge/agent';
 *
 * const agent = createAgent({
 *   url: 'http://127.0.0.1:7700',
 *   registrationSecret: process.env.HIVEFORGE_AGENT_SECRET!,
 *   workDir: '/var/lib/hiveforge',
 *   executor: createProcessExecutor(),
 * });
 * await agent.run();
 * ```
 *
 * @module
 */
export { createAgent, type Agent, type AgentEvent, type AgentOptions } from './agent.js';
export { insideWorkspace, packPath, unpackInto } from './archive.js';
export { createArtifactClient, type ArtifactClient } from './artifact-client.js';
export { createEndpoints, type Endpoints } from './endpoints.js';
export { createAgentClient, errorCodeOf, isTransportError, type CoordinatorClient } from './client.js';
export { createProcessExecutor, type ProcessExecutorOptions } from './executors/process.js';
export type { ExecOptions, Executor, JobEnvironment, StartOptions } from './executors/types.js';
export {
  createImageBuilder,
  resolveImageBuilderConfig,
  type ImageBuilderOptions,
  type ResolvedImageBuilderConfig,
} from './images/image-builder.js';
export { BASE_ARG, buildContext, IMAGE_LABEL, IMAGE_NAME_LABEL, renderDockerfile } from './images/dockerfile.js';
export type { BuiltImage, EnsureImageOptions, ImageBuilder, PreparedImage } from './images/types.js';
export { runJob, type JobRunnerDeps, type RunningJob } from './job-runner.js';
export { createLogShipper, type LogShipper, type LogShipperOptions } from './log-shipper.js';
