import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type CliResult, runCli } from './cli.js';
import { type FerretDB, startFerretDB } from './ferretdb.js';
import { type ServiceProcess, startAgentProcess, startCoordinatorProcess } from './services.js';

/** An agent of a {@link CliCluster}. */
export interface AgentProcessOptions {
  name: string;
  /** @default 1 */
  capacity?: number;
  /** More flags. @default [] */
  args?: string[];
  /** More environment variables (the values of its own secrets, say). @default {} */
  env?: Record<string, string>;
  /** The coordinators it pulls from. @default the cluster's first */
  urls?: string[];
}

/** Options of {@link startCliCluster}. */
export interface CliClusterOptions {
  /** Names the temporary directory and the database. */
  name: string;
  /** More flags for the coordinator (a secrets key, say). @default [] */
  coordinatorArgs?: string[];
  /** The agents to start, by name. @default [{ name: `${name}-agent` }] */
  agents?: AgentProcessOptions[];
}

/**
 * A cluster for CLI tests: FerretDB, a `hiveforge coordinator` process on it, agent processes,
 * and a CLI logged in as admin (`hiveforge login`, its own config directory). Disposing it
 * stops every process it started and removes its files.
 */
export interface CliCluster extends AsyncDisposable {
  readonly ferret: FerretDB;
  readonly database: string;
  readonly coordinator: ServiceProcess & { url: string };
  /** The agents started with the cluster, then those of {@link CliCluster.startAgent}. */
  readonly agents: ServiceProcess[];
  /** A temporary directory of its own (agents' work dirs, config dirs). */
  readonly dir: string;
  readonly agentSecret: string;
  readonly adminToken: string;
  /** The environment of the admin's CLI: its own config directory holding the login. */
  readonly admin: Record<string, string>;
  /**
   * Runs the CLI as a subprocess, with no HIVEFORGE_URL / HIVEFORGE_TOKEN unless `env` gives them.
   * @default env: the admin's
   */
  cli(
    args: readonly string[],
    options?: { env?: Record<string, string>; input?: string; timeoutMs?: number },
  ): Promise<CliResult>;
  /** Runs `hiveforge ARGS --json` as admin, expects exit 0 and parses stdout. */
  json<T>(args: readonly string[], env?: Record<string, string>): Promise<T>;
  /** Starts another agent on this cluster's coordinator (stopped with the cluster). */
  startAgent(name: string, options?: Omit<AgentProcessOptions, 'name'>): Promise<ServiceProcess>;
  /** Starts another coordinator on the same database (stopped with the cluster). */
  startCoordinator(args?: string[]): Promise<ServiceProcess & { url: string }>;
  /** Stops every process and FerretDB, removes the directory. */
  stop(): Promise<void>;
}

/** Starts a {@link CliCluster}; whatever started before a failure is stopped. */
export async function startCliCluster(options: CliClusterOptions): Promise<CliCluster> {
  const dir = await mkdtemp(join(tmpdir(), `hf-${options.name}-`));
  const agentSecret = randomBytes(16).toString('hex');
  const adminToken = `hfu_${randomBytes(16).toString('hex')}`;
  const database = `hf_${options.name.replace(/\W/g, '_')}_${process.pid}`;
  const admin = { XDG_CONFIG_HOME: join(dir, 'admin-config') };
  const processes: ServiceProcess[] = [];
  const agents: ServiceProcess[] = [];
  let ferret: FerretDB | undefined;
  const stop = async () => {
    for (const p of processes.reverse()) await p.kill('SIGKILL');
    await ferret?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    ferret = await startFerretDB();
    const db = ferret;
    const startCoordinator = async (args: string[] = []) => {
      const c = await startCoordinatorProcess({ mongodbUri: db.uri, database, agentSecret, adminToken, args });
      processes.push(c);
      return c;
    };
    const coordinator = await startCoordinator(options.coordinatorArgs);
    const startAgent = async (name: string, o: Omit<AgentProcessOptions, 'name'> = {}) => {
      const agent = await startAgentProcess({
        urls: o.urls ?? [coordinator.url],
        agentSecret,
        name,
        workDir: join(dir, `agent-${name}`),
        capacity: o.capacity ?? 1,
        args: o.args,
        env: o.env,
      });
      processes.push(agent);
      agents.push(agent);
      return agent;
    };
    for (const a of options.agents ?? [{ name: `${options.name}-agent` }]) await startAgent(a.name, a);
    const cli: CliCluster['cli'] = (args, o = {}) =>
      runCli(args, {
        env: { HIVEFORGE_URL: '', HIVEFORGE_TOKEN: '', ...(o.env ?? admin) },
        input: o.input,
        timeoutMs: o.timeoutMs ?? 90_000,
      });
    const login = await cli(['login', coordinator.url, '--token', adminToken]);
    if (login.code !== 0) throw new Error(`hiveforge login failed:\n${login.stderr}`);
    return {
      ferret,
      database,
      coordinator,
      agents,
      dir,
      agentSecret,
      adminToken,
      admin,
      cli,
      async json<T>(args: readonly string[], env: Record<string, string> = admin) {
        const r = await cli([...args, '--json'], { env });
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as T;
      },
      startAgent,
      startCoordinator,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The one line an error prints (`error HF_CODE: …`), exit code 2, and nothing else on stderr: no stack. */
export function expectOneErrorLine(r: CliResult, code: string): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error ${code}: `));
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** The run id a `hiveforge trigger` or `retry` printed. */
export function runIdOf(stdout: string, pipeline: string): string {
  const m = new RegExp(`(?:triggered run|as run) (${pipeline}/\\d+)`).exec(stdout);
  if (!m) throw new Error(`no run id of ${pipeline} in:\n${stdout}`);
  return m[1] as string;
}
