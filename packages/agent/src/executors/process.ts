import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { packPath, unpackInto, insideWorkspace } from '../archive.js';
import { hostBasics } from '../job-environment.js';
import type { ExecOptions, Executor, JobEnvironment, StartOptions } from './types.js';

/** Options of the process executor. */
export interface ProcessExecutorOptions {
  /** The shell that runs command lines. @default '/bin/sh' */
  shell?: string;
  /**
   * What every command's environment starts from, before the job's variables: never the agent's
   * own environment. @default the host's basics (`hostBasics()`: PATH, HOME, locale)
   */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** After a cancel, how long a command may take to exit before it is killed. @default 5000 */
  killGraceMs?: number;
  /**
   * The user's real home directory, persistent between jobs: a job whose `HOME` is this one has
   * its `~` cache paths in the host's own home (`isHostHome`). @default `os.userInfo().homedir`
   */
  hostHome?: string | null;
}

/**
 * Runs commands on the host, in the job's workspace directory. It cannot honour a job's image:
 * `prepare` says so in the job's log, and `hiveforge run` warns before the run starts.
 */
export function createProcessExecutor(options: ProcessExecutorOptions = {}): Executor {
  const shell = options.shell ?? '/bin/sh';
  const baseEnv = options.baseEnv ?? hostBasics();
  const grace = options.killGraceMs ?? 5_000;
  const hostHome = options.hostHome === undefined ? realHomeDir() : options.hostHome;
  return {
    name: 'process',
    async prepare(image, prepare) {
      if (image)
        prepare?.onLog?.(
          `warning: the process executor runs this job on the host; its image ${image.name} (${image.from}) is not used\n`,
        );
      return null;
    },
    async start(start: StartOptions): Promise<JobEnvironment> {
      const children = new Set<ReturnType<typeof spawn>>();
      const workspace = start.hostWorkspace;
      return {
        workspace,
        exec(command: string, exec: ExecOptions) {
          return new Promise((resolve, reject) => {
            const child = spawn(shell, ['-c', command], {
              cwd: exec.cwd ? insideWorkspace(workspace, exec.cwd) : workspace,
              env: { ...baseEnv, ...start.env, ...exec.env },
              stdio: ['ignore', 'pipe', 'pipe'],
              detached: true,
            });
            children.add(child);
            const killGroup = (signal: NodeJS.Signals) => {
              try {
                if (child.pid) process.kill(-child.pid, signal);
              } catch {}
            };
            let killTimer: NodeJS.Timeout | undefined;
            const onAbort = () => {
              killGroup('SIGTERM');
              killTimer = setTimeout(() => killGroup('SIGKILL'), grace);
            };
            if (exec.signal?.aborted) onAbort();
            exec.signal?.addEventListener('abort', onAbort, { once: true });
            forward(child.stdout, exec.onStdout);
            forward(child.stderr, exec.onStderr);
            child.on('error', (error) => {
              children.delete(child);
              reject(error);
            });
            child.on('close', (code, signal) => {
              children.delete(child);
              clearTimeout(killTimer);
              exec.signal?.removeEventListener('abort', onAbort);
              resolve({ exitCode: code ?? (signal ? 128 + (signalNumber(signal) ?? 15) : 1) });
            });
          });
        },
        copyOut: (path, options) => packPath(workspace, path, options),
        copyIn: async (archiveFile, path) => void (await unpackInto(workspace, { file: archiveFile }, path)),
        // Commands run on the host: `~` is the home they get (the job's HOME over the host's).
        cachePath(path) {
          const home = start.env.HOME ?? baseEnv.HOME;
          if (path === '~' || path.startsWith('~/')) return home ? join(home, path.slice(1)) : null;
          return isAbsolute(path) ? path : insideWorkspace(workspace, path);
        },
        isHostHome(path) {
          const home = start.env.HOME ?? baseEnv.HOME;
          if (path !== '~' && !path.startsWith('~/')) return false;
          return hostHome !== null && home !== undefined && resolve(home) === resolve(hostHome);
        },
        async teardown() {
          for (const child of children) {
            try {
              if (child.pid) process.kill(-child.pid, 'SIGKILL');
            } catch {}
          }
        },
      };
    },
  };
}

/** Passes a stream's chunks on, pausing it while the receiver asks to wait (backpressure). */
function forward(stream: Readable | null, receive: ExecOptions['onStdout']): void {
  stream?.on('data', (chunk: Buffer) => {
    const wait = receive?.(chunk);
    if (!wait) return;
    stream.pause();
    const resume = () => stream.resume();
    wait.then(resume, resume);
  });
}

const SIGNALS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
const signalNumber = (signal: NodeJS.Signals) => SIGNALS[signal];

/** The user's home directory from the password database (not `$HOME`), or null when unknown. */
function realHomeDir(): string | null {
  try {
    return userInfo().homedir || null;
  } catch {
    return null;
  }
}
