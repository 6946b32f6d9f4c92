/**
 * `@hiveforge/agent`: a stateless, disposable agent. It pulls jobs from coordinators over tRPC
 * and runs each one through an executor chosen by name (`process` on the host, `docker` in a
 * container per job attempt).
 *
 * @example
 * ```ts
 * import { createAgent, createExecutor } from '@hiveforge/agent';
 *
 * const workDir = '/var/lib/hiveforge';
 * const agent = createAgent({
 *   url: 'http://127.0.0.1:7700',
 *   registrationSecret: process.env.HIVEFORGE_AGENT_SECRET!,
 *   workDir,
 *   executor: createExecutor('docker', { workDir, defaultImage: 'debian:bookworm-slim' }),
 * });
 * await agent.run();
 * ```
 *
 * @module
 */
export { createAgent, type Agent, type AgentEvent, type AgentOptions } from './agent.js';
export {
  checkArchiveSource,
  createArchiveGuard,
  insideWorkspace,
  packPath,
  resolveInWorkspace,
  unpackInto,
  type ArchiveSource,
} from './archive.js';
export { spoolTo, type SpooledArchive } from './artifact-spool.js';
export { createArtifactClient, type ArtifactClient } from './artifact-client.js';
export {
  DEFAULT_CACHE_TIMEOUT_MS,
  createCacheClient,
  type CacheAttempt,
  type CacheClient,
  type CacheEntryInfo,
} from './cache-client.js';
export { DEFAULT_LOCAL_CACHE_BYTES, createLocalCache, type LocalCache, type LocalCacheOptions } from './local-cache.js';
export { createEndpoints, type Endpoints } from './endpoints.js';
export { createFileTimeline, type Timeline } from './timeline.js';
export { createJobHostPool, type JobHostPool } from './job-host-pool.js';
export {
  DEFAULT_LOCAL_ARTIFACT_BYTES,
  createLocalArtifacts,
  type KeptArchive,
  type LocalArtifacts,
  type LocalArtifactsOptions,
} from './local-artifacts.js';
export { createAgentClient, errorCodeOf, type CoordinatorClient } from './client.js';
export {
  ContainerLabels,
  createDockerExecutor,
  dockerAnswers,
  workDirLabel,
  type DockerExecutorOptions,
} from './executors/docker.js';
export { createDockerClient } from './docker-client.js';
export {
  chooseExecutor,
  createExecutor,
  executorNames,
  executors,
  isExecutorName,
  type ExecutorConfig,
  type ExecutorEntry,
  type ExecutorName,
} from './executors/index.js';
export { CONFIG_HASH_EXCLUDED, HIVEFORGE_VERSION, attemptFingerprint, configHash } from './fingerprint.js';
export { DEFAULT_RETRY_FOR_MS, isRetryable, retryDelayMs, withRetry, type RetryOptions } from './retry.js';
export { createProcessExecutor, type ProcessExecutorOptions } from './executors/process.js';
export type {
  ExecOptions,
  Executor,
  JobEnvironment,
  JobResources,
  PrepareOptions,
  StartOptions,
} from './executors/types.js';
export {
  createImageBuilder,
  resolveImageBuilderConfig,
  type ImageBuilderOptions,
  type ResolvedImageBuilderConfig,
} from './images/image-builder.js';
export { BASE_ARG, buildContext, IMAGE_LABEL, IMAGE_NAME_LABEL, renderDockerfile } from './images/dockerfile.js';
export type { BuiltImage, EnsureImageOptions, ImageBuilder, PreparedImage } from './images/types.js';
export { runJob, type JobRunnerDeps, type RunningJob } from './job-runner.js';
export {
  DEFAULT_LOG_LIMIT_BYTES,
  createLogShipper,
  type LogChunk,
  type LogShipper,
  type LogShipperOptions,
  type OnLogLimit,
} from './log-shipper.js';
export { createUtf8Splitter, splitUtf8, type SizedPiece, type Utf8Splitter } from './utf8-pieces.js';
export { hostBasics, jobVariables, passedVariables, type EnvVars, type JobVariablesInput } from './job-environment.js';
export { MASK, createMasker, maskResult, maskedForms, type Masker, type MaskStream } from './masking.js';
