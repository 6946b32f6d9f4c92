import { type ChildProcess, fork } from 'node:child_process';
import { type EnvVars, hostBasics } from './job-environment.js';

/**
 * Keeps job host processes started ahead of need: starting Node and loading the SDK takes tens
 * of milliseconds (hundreds on a busy machine), which would otherwise sit between a lease and
 * its job's first command. Each process runs one job and exits; taking one starts its
 * replacement. A host says when it has loaded (`ready`), and `take` prefers the ready ones: the
 * agent keeps one more idle host than its capacity, so that in a chain of short jobs each host
 * has two jobs' time to start (bench/executor.mjs).
 */
export interface JobHostPool {
  /** A started job host, ready for its `run` message. */
  take(): ChildProcess;
  /** Kills the idle processes. */
  close(): void;
}

const HOST = new URL('./job-host.js', import.meta.url);

/** Starts a job host; `ready` is called once it said it has loaded. */
function start(env: Readonly<EnvVars>, ready: (child: ChildProcess) => void): ChildProcess {
  // The host runs user code: it starts from the clean job environment, never the agent's own
  // (which holds its credentials); the job's variables are added when it is given its job.
  const child = fork(HOST, [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...env },
    serialization: 'advanced',
  });
  // An idle host must not keep the agent alive, nor die unnoticed.
  child.unref();
  child.on('error', () => {});
  const onMessage = (message: { type?: string }) => {
    if (message?.type !== 'ready') return;
    ready(child);
    child.off('message', onMessage);
  };
  child.on('message', onMessage);
  // The IPC channel must not keep the agent alive either while the host is idle.
  child.channel?.unref();
  return child;
}

/**
 * Creates a pool that keeps `size` idle job hosts, started with the environment `env`.
 * @default size 1, env the host's basics (`hostBasics()`: PATH, HOME, locale)
 */
export function createJobHostPool(size = 1, env: Readonly<EnvVars> = hostBasics()): JobHostPool {
  const idle: ChildProcess[] = [];
  /** This pool's hosts that said they are ready. */
  const readyHosts = new WeakSet<ChildProcess>();
  const ready = (child: ChildProcess) => readyHosts.add(child);
  let closed = false;
  const refill = () => {
    while (!closed && idle.length < size) idle.push(start(env, ready));
  };
  return {
    take() {
      const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null && c.connected;
      for (const dead of idle.filter((c) => !alive(c))) idle.splice(idle.indexOf(dead), 1);
      const index = Math.max(
        0,
        idle.findIndex((c) => readyHosts.has(c)),
      );
      const [child] = idle.splice(index, 1);
      const taken = child ?? start(env, ready);
      taken.ref();
      taken.channel?.ref();
      setImmediate(refill);
      return taken;
    },
    close() {
      closed = true;
      for (const child of idle.splice(0)) child.kill('SIGKILL');
    },
  };
}
