import type { CacheOptions, TriggerInfo } from '@hiveforge/sdk';

/** What the agent tells the job host to run. */
export interface RunMessage {
  type: 'run';
  bundlePath: string;
  /** The stored structural digest of the spec: the bundle must declare the same jobs. */
  expectedDigest: string[];
  job: { name: string; declaredName: string; attempt: number; runId: string; pipeline: string };
  matrix: Record<string, string | number | boolean>;
  env: Record<string, string>;
  secrets: Record<string, string>;
  /** The workspace as the job's commands see it. */
  workspace: string;
  /** The workspace on the agent's host, where the job host itself runs. */
  hostWorkspace: string;
  trigger: TriggerInfo;
  needsOutputs: Record<string, Record<string, string>>;
}

/** Messages from the agent to the job host. */
export type ToHost =
  | RunMessage
  | { type: 'cancel'; reason: string }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: { code: string; message: string } };

/** Requests the job host makes of the agent, answered by a `reply` with the same id. */
export type HostRequest =
  | { type: 'exec'; id: number; command: string; cwd?: string; env?: Record<string, string>; quiet: boolean }
  | { type: 'upload'; id: number; path: string; name: string }
  | { type: 'download'; id: number; name: string; path: string }
  | { type: 'outputs'; id: number; job: string }
  /** `ctx.cache`: replied to with a `CacheResult`. */
  | { type: 'cache'; id: number; options: CacheOptions };

/** Messages from the job host to the agent. */
export type FromHost =
  | HostRequest
  /** Sent once, when the host has loaded its modules and waits for its job. */
  | { type: 'ready' }
  | { type: 'log'; text: string }
  | { type: 'output'; key: string; value: string }
  | { type: 'done'; ok: true }
  | {
      type: 'done';
      ok: false;
      /** `summary`: what the log gets instead of `message`, when it would repeat streamed output. */
      error: { code: string; message: string; exitCode: number | null; summary?: string };
    };

/** What `exec` replies with. */
export interface ExecReply {
  exitCode: number;
  stdout: string;
  stderr: string;
}
