import type { ImageSpec } from '@hiveforge/sdk';

/** Options of one command run in a job environment. */
export interface ExecOptions {
  /** Directory relative to the workspace. */
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

/** A started job environment: where a job's commands run. */
export interface JobEnvironment {
  /** The workspace path as the job's commands see it. */
  readonly workspace: string;
  /** Runs a shell command line with streamed output; resolves with its exit status. */
  exec(command: string, options: ExecOptions): Promise<{ exitCode: number }>;
  /** A gzipped tar of a workspace-relative path (entries relative to the workspace). */
  copyOut(path: string): Promise<Buffer>;
  /** Extracts a gzipped tar into a workspace-relative directory. */
  copyIn(archive: Buffer, path: string): Promise<void>;
  /** Stops whatever still runs and removes the environment (not the host workspace). */
  teardown(): Promise<void>;
}

/** What an executor needs to start a job environment. */
export interface StartOptions {
  jobId: string;
  /** The host directory of the job's workspace, created empty by the agent. */
  hostWorkspace: string;
  image: ImageSpec | null;
  env: Readonly<Record<string, string>>;
}

/**
 * Where jobs run. Implementations: `process` (host), `docker`, `kubernetes`. All share this
 * interface: prepare an image, start the environment, exec, copy in and out, tear down.
 */
export interface Executor {
  readonly name: string;
  /** Makes the image available (built or pulled) before a job starts. */
  prepare(image: ImageSpec | null, signal?: AbortSignal): Promise<void>;
  start(options: StartOptions): Promise<JobEnvironment>;
}
