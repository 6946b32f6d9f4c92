import { type ChildProcess, spawn } from 'node:child_process';
import { cliBin, repoRoot } from './cli.js';

/** A `hiveforge coordinator` or `hiveforge agent` process started by a test. */
export interface ServiceProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** Resolves when a line matching `pattern` has been printed. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal; resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

function startService(args: string[], env: Record<string, string> = {}): ServiceProcess {
  const child = spawn(process.execPath, [cliBin, ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern} in:\n${out}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    kill,
    [Symbol.asyncDispose]: () => kill('SIGKILL'),
  };
}

/**
 * Starts `hiveforge coordinator` on a free loopback port; resolves with its URL once it listens.
 * Without `mongodbUri` it keeps its state in memory.
 */
export async function startCoordinatorProcess(options: {
  mongodbUri?: string;
  database?: string;
  agentSecret: string;
  adminToken: string;
  leaseTtl?: string;
  heartbeatInterval?: string;
  /** More flags. @default [] */
  args?: string[];
}): Promise<ServiceProcess & { url: string }> {
  const service = startService([
    'coordinator',
    '--port',
    '0',
    ...(options.mongodbUri
      ? [
          '--store',
          'mongodb',
          '--mongodb-uri',
          options.mongodbUri,
          '--mongodb-database',
          options.database ?? 'hiveforge',
        ]
      : ['--store', 'memory']),
    '--agent-secret',
    options.agentSecret,
    '--admin-token',
    options.adminToken,
    // Faster than the defaults (6s, 2s) so that a lost agent's job comes back within seconds,
    // in the same proportion: a lease survives three missed heartbeats.
    '--lease-ttl',
    options.leaseTtl ?? '4s',
    '--heartbeat-interval',
    options.heartbeatInterval ?? '1s',
    '--sweep-interval',
    '250ms',
    '--pull-wait',
    '5s',
    ...(options.args ?? []),
  ]);
  const m = await service.waitFor(/listening on (http:\/\/\S+)/);
  return Object.assign(service, { url: m[1] as string });
}

/** Starts `hiveforge agent` against one or more coordinators. */
export async function startAgentProcess(options: {
  urls: string[];
  agentSecret: string;
  name: string;
  workDir: string;
  capacity?: number;
  /** Where the agent reads its secret: a flag, or its environment (HIVEFORGE_AGENT_SECRET). @default 'flag' */
  secretFrom?: 'flag' | 'env';
  /** More flags. @default [] */
  args?: string[];
  /** More environment variables. @default {} */
  env?: Record<string, string>;
}): Promise<ServiceProcess> {
  const fromEnv = options.secretFrom === 'env';
  const service = startService(
    [
      'agent',
      '--url',
      options.urls.join(','),
      ...(fromEnv ? [] : ['--agent-secret', options.agentSecret]),
      '--name',
      options.name,
      '--work-dir',
      options.workDir,
      '--capacity',
      String(options.capacity ?? 1),
      ...(options.args ?? []),
    ],
    { ...options.env, ...(fromEnv ? { HIVEFORGE_AGENT_SECRET: options.agentSecret } : {}) },
  );
  await service.waitFor(/registered as agent-/);
  return service;
}
