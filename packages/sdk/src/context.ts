import type { CacheOptions, CacheResult } from './cache.js';
import type { TriggerEvent } from './spec.js';

/** Options of one `ctx.sh` command. */
export interface ShOptions {
  /** Working directory, relative to the workspace. @default the workspace */
  cwd?: string;
  /** Extra environment variables for this command. */
  env?: Readonly<Record<string, string>>;
  /** Resolve instead of throwing when the command exits non-zero. @default false */
  nothrow?: boolean;
  /** Do not echo the command line into the log. @default false */
  quiet?: boolean;
}

/** What a finished command produced. Output is also streamed to the job log as it happens. */
export interface ShResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs shell commands in the job's environment. As a tagged template every interpolation is
 * quoted as one shell word (arrays as one word each); as a function the string runs as is.
 * @example
 * await ctx.sh`npm test -- ${file}`;
 * await ctx.sh('npm ci && npm run build');
 * await ctx.sh.with({ cwd: 'lib' })`make`;
 */
export interface Shell {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<ShResult>;
  (command: string, options?: ShOptions): Promise<ShResult>;
  /** A shell bound to options, usable as a tagged template. */
  with(options: ShOptions): Shell;
}

/** Writes to the job log. */
export interface JobLogger {
  (message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Opens a collapsible group in the log; close it with the returned function. */
  group(title: string): () => void;
}

/** Outputs a job publishes for its dependents, and reads from its needs. */
export interface JobOutputs {
  set(key: string, value: string): void;
  /** An output published by a job this job needs. */
  get(job: string | { readonly name: string }, key: string): string | undefined;
}

/** What started the run. */
export interface TriggerInfo {
  event: TriggerEvent;
  branch: string | null;
  commit: string | null;
  /** Where the sources are: a git URL, or a local directory for `hiveforge run`. */
  repository: string | null;
  inputs: Readonly<Record<string, string | number | boolean>>;
}

/**
 * The typed context every job body and action receives. `M` is the instance's matrix values;
 * `S` the names of the secrets the job declares (`job()` infers it from `secrets`, so reading
 * an undeclared one is a type error). The default `S` (any name) is what actions accept.
 */
export interface JobContext<M = Record<string, never>, S extends string = string> {
  readonly job: {
    readonly name: string;
    readonly declaredName: string;
    readonly attempt: number;
    readonly runId: string;
    readonly pipeline: string;
  };
  readonly sh: Shell;
  /** The job's environment: pipeline env, job env, and `HIVEFORGE_*` variables. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The secrets the job declared, by name. Values are masked in logs. Each is a string: the
   * agent fails a job whose declared secret it has no value for before running its body.
   */
  readonly secrets: Readonly<Record<S, string>>;
  /** Absolute path of the job's workspace inside its environment. */
  readonly workspace: string;
  readonly log: JobLogger;
  /** Uploads a file or directory (relative to the workspace) as an artifact of this run. */
  upload(path: string, options?: { name?: string }): Promise<void>;
  /** Downloads an artifact of this run into the workspace (at its original path by default). */
  download(name: string, options?: { path?: string }): Promise<void>;
  /**
   * Restores the cache entry of `key` (or, failing that, the newest one whose key starts with a
   * restore key) into `paths`, and saves `paths` under `key` when the job succeeds (not after an
   * exact hit). Entries belong to the pipeline and the run's branch; a branch without one
   * restores its default branch's. A failed restore or save is a warning, never the job's failure.
   * @example
   * const { hit } = await ctx.cache({
   *   key: `npm-${await ctx.hashFiles('package-lock.json')}`,
   *   restoreKeys: ['npm-'],
   *   paths: ['~/.npm'],
   * });
   */
  cache(options: CacheOptions): Promise<CacheResult>;
  /**
   * The SHA-256 of the workspace files matching the glob patterns (`!` excludes), in path
   * order, as hex; '' when none matches (as GitHub's `hashFiles`).
   * @example await ctx.hashFiles('**\/package-lock.json', '!node_modules/**')
   */
  hashFiles(...patterns: string[]): Promise<string>;
  readonly outputs: JobOutputs;
  /** This instance's matrix values. */
  readonly matrix: M;
  readonly trigger: TriggerInfo;
  /** Aborted when the job is cancelled or times out. */
  readonly signal: AbortSignal;
}
