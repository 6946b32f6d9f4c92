/**
 * `@hiveforge/sdk`: declare pipelines, jobs and deterministic images in typed TypeScript.
 *
 * @example
 * ```ts
 * import { pipeline, job } from '@hiveforge/sdk';
 *
 * export default pipeline('hello', () => {
 *   const build = job('build', async (ctx) => { await ctx.sh`echo building`; });
 *   job('test', { needs: [build] }, async (ctx) => { await ctx.sh`echo testing`; });
 * });
 * ```
 *
 * @module
 */
export { defineAction, type Action, type ActionDefinition } from './action.js';
export {
  createArchiveEntryChecker,
  type ArchiveEntryChecker,
  type ArchiveEntryInfo,
} from './archive-entries.js';
export {
  buildPipelineSpec,
  structuralDigest,
  DEFAULT_JOB_TIMEOUT_MS,
  type DeclaredJob,
  type DeclaredPipeline,
} from './build-spec.js';
export {
  CACHE_KEY_MAX_LENGTH,
  CACHE_MAX_PATHS,
  CACHE_MAX_RESTORE_KEYS,
  CacheHit,
  checkCacheKey,
  checkCacheOptions,
  type CacheOptions,
  type CacheResult,
} from './cache.js';
export type { JobContext, JobLogger, JobOutputs, Shell, ShOptions, ShResult, TriggerInfo } from './context.js';
export { nextCronTime, parseCron, type CronParseResult, type CronSchedule } from './cron.js';
export { parseByteSize, type ByteSize } from './byte-size.js';
export { formatDuration, parseDuration, type Duration } from './duration.js';
export { ErrorCodes, type ErrorCode } from './error-codes.js';
export {
  ArtifactInvalidError,
  BadInputError,
  CacheInvalidError,
  ConfigError,
  ConflictError,
  DiskQuotaError,
  ExecError,
  ExecutorUnavailableError,
  FencedError,
  ForbiddenError,
  PayloadTooLargeError,
  HiveForgeError,
  ImageBuildError,
  isHiveForgeError,
  JobCancelledError,
  JobTimeoutError,
  LogLimitError,
  NotFoundError,
  OutOfMemoryError,
  SdkUsageError,
  SpecDriftError,
  SpecInvalidError,
  StoreUnavailableError,
  CoordinatorUnavailableError,
  UnauthenticatedError,
  formatBytes,
  type SourceLocation,
} from './errors.js';
export {
  canonicalImage,
  image,
  imageTag,
  isPinnedImage,
  resolveImage,
  type ImageContent,
  type ImageOptions,
  type ImageRef,
} from './image.js';
export { expandMatrix, instanceName, type MatrixCombination, type MatrixDefinition } from './matrix.js';
export { describePipeline } from './describe-pipeline.js';
export {
  declaredPipelineOf,
  isPipeline,
  job,
  pipeline,
  type JobBody,
  type JobDefinition,
  type JobOptions,
  type JobRef,
  type MatrixValues,
  type Pipeline,
  type PipelineOptions,
} from './pipeline.js';
export {
  checkCpus,
  JOB_USER_PATTERN,
  MAX_CPUS,
  MIN_MEMORY_BYTES,
  parseMemory,
  type JobResourceOptions,
} from './resources.js';
export { quote, raw, renderCommand, type RawShell } from './shell.js';
export {
  API_VERSION,
  formatIssues,
  ImageSpecSchema,
  JOB_NAME_PATTERN,
  JobSpecSchema,
  parsePipelineSpec,
  PipelineSpecSchema,
  ResourcesSpecSchema,
  TriggerEvent,
  type ImageSpec,
  type InputSpec,
  type JobConditionSpec,
  type JobSpec,
  type PipelineSpec,
  type ResourcesSpec,
  type SourceLocationSpec,
  type TriggersSpec,
} from './spec.js';
export {
  conditionHolds,
  globToRegExp,
  manual,
  matchesAny,
  pullRequest,
  push,
  resolveCondition,
  resolveTriggers,
  schedule,
  type InputDefinition,
  type JobCondition,
  type ManualTrigger,
  type PullRequestTrigger,
  type PushTrigger,
  type Triggers,
} from './triggers.js';
