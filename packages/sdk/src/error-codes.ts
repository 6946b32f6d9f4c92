/**
 * The registry of every stable error code HiveForge raises. A code never changes meaning once
 * published; tools and UIs may switch on it.
 */
export const ErrorCodes = {
  /** A structural argument of `pipeline`/`job`/`image` is not a readable literal. */
  analysisNotStatic: 'HF_ANALYSIS_NOT_STATIC',
  /** The dependency graph has a cycle. */
  analysisCycle: 'HF_ANALYSIS_CYCLE',
  /** `needs` names a job that does not exist. */
  analysisUnknownNeed: 'HF_ANALYSIS_UNKNOWN_NEED',
  /** Two jobs (or matrix instances) share a name. */
  analysisDuplicateJob: 'HF_ANALYSIS_DUPLICATE_JOB',
  /** A schedule is not a valid five-field cron expression. */
  analysisInvalidCron: 'HF_ANALYSIS_INVALID_CRON',
  /** An image is not pinned by digest while the pipeline asks for strict images. */
  analysisUnpinnedImage: 'HF_ANALYSIS_UNPINNED_IMAGE',
  /** The entry file has no default-exported pipeline. */
  analysisNoDefaultExport: 'HF_ANALYSIS_NO_DEFAULT_EXPORT',
  /** A value has the wrong type or shape for its position. */
  analysisInvalidValue: 'HF_ANALYSIS_INVALID_VALUE',
  /** A job body reads `ctx.secrets.NAME` for a NAME the job's `secrets` does not declare. */
  analysisUndeclaredSecret: 'HF_ANALYSIS_UNDECLARED_SECRET',
  /** A file could not be read or parsed. */
  analysisSource: 'HF_ANALYSIS_SOURCE',
  /** A pipeline failed static analysis; `diagnostics` lists why. */
  analysisFailed: 'HF_ANALYSIS_FAILED',
  /** An SDK function was called in a way the SDK does not allow. */
  sdkUsage: 'HF_SDK_USAGE',
  /** A PipelineSpec does not match the schema. */
  specInvalid: 'HF_SPEC_INVALID',
  /** The jobs a bundle declares at run time differ from the stored spec. */
  specDrift: 'HF_SPEC_DRIFT',
  /** A shell command exited with a non-zero status. */
  exec: 'HF_EXEC',
  /** A job exceeded its timeout. */
  jobTimeout: 'HF_JOB_TIMEOUT',
  /** A job was cancelled. */
  jobCancelled: 'HF_JOB_CANCELLED',
  /** A job's workspace grew past the job's `disk` quota; the job was stopped. */
  diskQuota: 'HF_DISK_QUOTA',
  /** The named thing does not exist. */
  notFound: 'HF_NOT_FOUND',
  /** Input failed validation at a boundary. */
  badInput: 'HF_BAD_INPUT',
  /** A request body is larger than the route (and the caller) may send. */
  payloadTooLarge: 'HF_PAYLOAD_TOO_LARGE',
  /** Missing or invalid credentials. */
  unauthenticated: 'HF_UNAUTHENTICATED',
  /** Valid credentials without the right to do this. */
  forbidden: 'HF_FORBIDDEN',
  /** The caller's lease or attempt is no longer current. */
  fenced: 'HF_FENCED',
  /** A state transition that the current state does not allow. */
  conflict: 'HF_CONFLICT',
  /** A job's log went past its limit (the agent's, or the coordinator's for any job). */
  logLimit: 'HF_LOG_LIMIT',
  /** An artifact archive or path is unsafe or malformed. */
  artifactInvalid: 'HF_ARTIFACT_INVALID',
  /** A cache key, restore key or cache path is malformed (`ctx.cache`). */
  cacheInvalid: 'HF_CACHE_INVALID',
  /** The store could not be reached or refused a write. */
  storeUnavailable: 'HF_STORE_UNAVAILABLE',
  /** The coordinator could not be reached. */
  coordinatorUnavailable: 'HF_COORDINATOR_UNAVAILABLE',
  /** A configuration file, flag or environment variable is invalid. */
  config: 'HF_CONFIG',
  /** An image description could not be built, pulled or pushed. */
  imageBuild: 'HF_IMAGE_BUILD',
  /** The executor's engine (the Docker daemon) cannot be reached or refused to run the job. */
  executorUnavailable: 'HF_EXECUTOR_UNAVAILABLE',
  /** A job's command was killed because the job went over its memory limit. */
  outOfMemory: 'HF_OUT_OF_MEMORY',
  /** An unexpected failure (a fault, not an input mistake): the CLI prints it in one line; `--debug` shows its stack. */
  internal: 'HF_INTERNAL',
} as const;

/** One of the stable error codes in {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
