import { type ErrorCode, ErrorCodes } from './error-codes.js';

/** Where in a source file something is. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/**
 * The base of every error HiveForge raises on purpose. `code` is stable (see `ErrorCodes`),
 * `retryable` says whether doing the same thing again may succeed.
 */
export abstract class HiveForgeError extends Error {
  abstract readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable ?? false;
  }

  /** A plain object safe to send over the wire or print as JSON. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
  }
}

/** Bad input at a boundary: says what was wrong and where. */
export class BadInputError extends HiveForgeError {
  readonly code = ErrorCodes.badInput;
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** A request body is larger than its route allows; `limit` is the largest accepted, in bytes. */
export class PayloadTooLargeError extends HiveForgeError {
  readonly code = ErrorCodes.payloadTooLarge;
  constructor(
    message: string,
    readonly limit: number,
  ) {
    super(message);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), limit: this.limit };
  }
}

/** The SDK was called in a way it does not allow (for example `job()` outside `pipeline()`). */
export class SdkUsageError extends HiveForgeError {
  readonly code = ErrorCodes.sdkUsage;
}

/** A PipelineSpec failed schema validation. */
export class SpecInvalidError extends HiveForgeError {
  readonly code = ErrorCodes.specInvalid;
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(message);
  }
}

/** The jobs a bundle declares at run time differ from the spec the coordinator stored. */
export class SpecDriftError extends HiveForgeError {
  readonly code = ErrorCodes.specDrift;
  constructor(
    message: string,
    readonly differences: readonly string[],
  ) {
    super(message);
  }
}

/** A shell command exited with a non-zero status. */
export class ExecError extends HiveForgeError {
  readonly code = ErrorCodes.exec;
  /** The command and its exit status, without the stderr tail (which the log already streamed). */
  readonly summary: string;
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderrTail: string,
  ) {
    super(`command exited with status ${exitCode}: ${command}${stderrTail ? `\n${stderrTail}` : ''}`);
    this.summary = `command exited with status ${exitCode}: ${command}`;
  }
}

/** A job ran past its timeout and was stopped. */
export class JobTimeoutError extends HiveForgeError {
  readonly code = ErrorCodes.jobTimeout;
  constructor(readonly timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
  }
}

/** A job's workspace grew past its `disk` quota; the job was stopped. */
export class DiskQuotaError extends HiveForgeError {
  readonly code = ErrorCodes.diskQuota;
  constructor(
    readonly quotaBytes: number,
    readonly usedBytes: number,
  ) {
    super(`workspace exceeded its disk quota of ${formatBytes(quotaBytes)} (used ${formatBytes(usedBytes)})`);
  }
}

/** A job was cancelled. */
export class JobCancelledError extends HiveForgeError {
  readonly code = ErrorCodes.jobCancelled;
}

/** The named pipeline, run, job, agent or artifact does not exist. */
export class NotFoundError extends HiveForgeError {
  readonly code = ErrorCodes.notFound;
}

/** Missing or invalid credentials. */
export class UnauthenticatedError extends HiveForgeError {
  readonly code = ErrorCodes.unauthenticated;
}

/** Valid credentials without the right to do this. */
export class ForbiddenError extends HiveForgeError {
  readonly code = ErrorCodes.forbidden;
}

/** The caller's lease or attempt is no longer current: its writes are rejected. */
export class FencedError extends HiveForgeError {
  readonly code = ErrorCodes.fenced;
}

/** A transition the current state does not allow (completing a finished job, cancelling twice). */
export class ConflictError extends HiveForgeError {
  readonly code = ErrorCodes.conflict;
}

/** An artifact path or archive is unsafe (absolute, `..`) or malformed. */
export class ArtifactInvalidError extends HiveForgeError {
  readonly code = ErrorCodes.artifactInvalid;
}

/** A cache key, restore key or path given to `ctx.cache` is malformed; the job's mistake, never retried. */
export class CacheInvalidError extends HiveForgeError {
  readonly code = ErrorCodes.cacheInvalid;
}

/** A job's log went past its limit: the coordinator refuses the chunks, or the agent fails the job. */
export class LogLimitError extends HiveForgeError {
  readonly code = ErrorCodes.logLimit;
  constructor(
    message: string,
    readonly limitBytes: number,
  ) {
    super(message);
  }
}

/** The store could not be reached or refused a write. */
export class StoreUnavailableError extends HiveForgeError {
  readonly code = ErrorCodes.storeUnavailable;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** No coordinator answered: refused, reset, timed out, or a 502/503/504 from a proxy before it. */
export class CoordinatorUnavailableError extends HiveForgeError {
  readonly code = ErrorCodes.coordinatorUnavailable;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** A configuration file, flag or environment variable is invalid. */
export class ConfigError extends HiveForgeError {
  readonly code = ErrorCodes.config;
}

/**
 * An image description could not be made into an image: a build step failed, the base could
 * not be pulled, the built image could not be pushed, or an unpinned base was refused. The
 * message's first line says what failed; the tail of the build's output follows it.
 */
export class ImageBuildError extends HiveForgeError {
  readonly code = ErrorCodes.imageBuild;
  /** The image's declared name. */
  readonly image: string;
  /** The content-addressed tag that was being made. */
  readonly tag: string;
  /** The last lines of the build's (or pull's, or push's) output. */
  readonly outputTail: string;

  constructor(options: {
    image: string;
    tag: string;
    message: string;
    outputTail?: string;
    cause?: unknown;
    retryable?: boolean;
  }) {
    const tail = options.outputTail?.trimEnd() ?? '';
    super(`image '${options.image}' (${options.tag}): ${options.message}${tail ? `\n${tail}` : ''}`, {
      cause: options.cause,
      retryable: options.retryable ?? false,
    });
    this.image = options.image;
    this.tag = options.tag;
    this.outputTail = tail;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), image: this.image, tag: this.tag, outputTail: this.outputTail };
  }
}

/** The executor's engine cannot be reached or refused to start the job's environment. */
export class ExecutorUnavailableError extends HiveForgeError {
  readonly code = ErrorCodes.executorUnavailable;
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, { retryable: true, ...options });
  }
}

/** A job's command was killed by the out-of-memory killer of the job's memory limit. */
export class OutOfMemoryError extends HiveForgeError {
  readonly code = ErrorCodes.outOfMemory;
  constructor(
    readonly command: string,
    readonly limitBytes: number | null,
  ) {
    super(
      `out of memory (limit ${limitBytes === null ? 'of the host' : formatBytes(limitBytes)}): the command was killed: ${command}`,
    );
  }
}

/**
 * A size in the largest binary unit it reaches, whole when exact, else to one decimal:
 * `67108864` → `64 MiB`, `6815744` → `6.5 MiB`, `500` → `500 bytes`.
 */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** True when `error` is a HiveForgeError (also across bundled copies of the SDK). */
export function isHiveForgeError(error: unknown): error is HiveForgeError {
  return (
    error instanceof HiveForgeError ||
    (error instanceof Error &&
      typeof (error as { code?: unknown }).code === 'string' &&
      String((error as unknown as { code: string }).code).startsWith('HF_'))
  );
}
