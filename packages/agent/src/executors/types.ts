import type { ImageSpec } from '@hiveforge/sdk';
import type { ArchiveCompression } from '../archive-compression.js';
import type { PreparedImage } from '../images/types.js';

/** Options of one command run in a job environment. */
export interface ExecOptions {
  /** Directory relative to the workspace. */
  cwd?: string;
  /** Variables of this command, over the environment's (`StartOptions.env`). */
  env?: Readonly<Record<string, string>>;
  /** Aborting stops the command: interrupt, a grace period, then kill. */
  signal?: AbortSignal;
  /**
   * Receives the command's output. A returned promise asks for backpressure: the executor stops
   * reading that stream until it settles, so a command printing faster than its log ships waits.
   */
  onStdout?: (chunk: Buffer) => void | Promise<void>;
  /** Receives the command's error output, as `onStdout`. */
  onStderr?: (chunk: Buffer) => void | Promise<void>;
}

/** A started job environment: where a job's commands run. */
export interface JobEnvironment {
  /** The workspace path as the job's commands see it. */
  readonly workspace: string;
  /**
   * Runs a shell command line with streamed output; resolves with its exit status. Rejects
   * when the environment itself failed the command (an `OutOfMemoryError` when the job's memory
   * limit killed it), so that is never mistaken for the command's own exit status.
   */
  exec(command: string, options: ExecOptions): Promise<{ exitCode: number }>;
  /**
   * A tar stream (gzipped when it compresses, unless `compression` is `none`) of a
   * workspace-relative path, entries relative to the workspace; it fails with
   * `HF_ARTIFACT_INVALID` when an entry breaks the archive rules.
   */
  copyOut(path: string, options?: { compression?: ArchiveCompression }): Promise<NodeJS.ReadableStream>;
  /** Extracts an archive file (a tar, gzipped or not) into a workspace-relative directory, checked as it is read. */
  copyIn(archiveFile: string, path: string): Promise<void>;
  /**
   * Where a cache path of the job (workspace-relative, `~`, `~/…` or absolute, as its commands
   * see it) is on the agent's host, for `ctx.cache`; null when the host cannot reach it (the
   * path is then not cached). Absent: only nothing is cached.
   */
  cachePath?(path: string): string | null;
  /**
   * Whether a `~` cache path of the job is in the host's own home directory (the user's real
   * one, kept between jobs), for `CacheOptions.skipHostHome`. Absent: never.
   */
  isHostHome?(path: string): boolean;
  /** Stops whatever still runs and removes the environment (not the host workspace). */
  teardown(): Promise<void>;
}

/** Limits a job asked for (`resources` of its options); null fields are unlimited. */
export interface JobResources {
  /** CPUs (fractions allowed). */
  cpus: number | null;
  /** Memory in bytes. */
  memoryBytes: number | null;
}

/** What an executor needs to start a job environment. */
export interface StartOptions {
  jobId: string;
  /** The host directory of the job's workspace, created empty by the agent. */
  hostWorkspace: string;
  image: ImageSpec | null;
  /**
   * The job's environment, as the job runner made it. Executors add nothing of the agent's
   * own environment; a container keeps its image's variables under these.
   */
  env: Readonly<Record<string, string>>;
  /** The agent the attempt runs on (environments are labelled with it). */
  agentId?: string;
  runId?: string;
  /** The job's instance name. */
  job?: string;
  attempt?: number;
  /** Limits the job declared. @default unlimited */
  resources?: JobResources | null;
  /** The user the job's commands run as (`'root'`, a name or `uid[:gid]`). @default the executor's */
  user?: string | null;
}

/** Options of {@link Executor.prepare}. */
export interface PrepareOptions {
  signal?: AbortSignal;
  /** Receives the output of an image build or pull, for the job's log. */
  onLog?: (text: string) => void;
  /**
   * Refuse an image whose base is not pinned by digest (the pipeline's `strictImages`) with an
   * `ImageBuildError`, instead of a warning in the log. @default false
   */
  strict?: boolean;
}

/**
 * Where jobs run. Implementations: `process` (the host) and `docker` (a container per job
 * attempt), chosen by name from the registry in `executors/index.ts`. All share this
 * interface: prepare an image, start the environment, exec, copy in and out, tear down.
 */
export interface Executor {
  readonly name: string;
  /**
   * Makes the image available (built or pulled) before a job starts; resolves with the image the
   * job will run in (its tag and the engine's id, for the attempt's fingerprint), or null when
   * the job runs on the host.
   */
  prepare(image: ImageSpec | null, options?: PrepareOptions): Promise<PreparedImage | null>;
  start(options: StartOptions): Promise<JobEnvironment>;
  /**
   * Removes the environments an earlier life of this agent left behind (it was killed before
   * tearing them down). Called once when the agent starts; resolves with how many it removed.
   */
  reap?(): Promise<number>;
}
