import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CacheOptions,
  type JobContext,
  type Shell,
  type ShOptions,
  type ShResult,
  ExecError,
  renderCommand,
} from '@hiveforge/sdk';
import { glob } from 'tinyglobby';

/** One command a {@link LocalContext} ran, with what it printed. */
export interface RanCommand {
  command: string;
  cwd: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A job context whose commands run for real with `/bin/sh` in a temporary workspace. */
export interface LocalContext extends AsyncDisposable {
  ctx: JobContext<unknown>;
  workspace: string;
  /** The commands run so far, in order. */
  commands: RanCommand[];
  /** The log lines written so far. */
  log: string[];
  /** The `ctx.cache` calls so far (each restores nothing). */
  caches: CacheOptions[];
}

/**
 * A job context for testing actions against the real tools: each command runs in the
 * workspace (or `cwd` below it) with a clean environment like a job's (PATH, a HOME of its
 * own, the command's `env`), and the workspace is deleted on dispose.
 */
export async function createLocalContext(options: { repository?: string } = {}): Promise<LocalContext> {
  const root = await mkdtemp(join(tmpdir(), 'hf-actions-'));
  const workspace = join(root, 'workspace');
  const home = join(root, 'home');
  const commands: RanCommand[] = [];
  const log: string[] = [];
  const caches: CacheOptions[] = [];
  const exec = (command: string, o: ShOptions) =>
    new Promise<ShResult>((resolve, reject) => {
      const cwd = o.cwd ? join(workspace, o.cwd) : workspace;
      const child = spawn('/bin/sh', ['-c', command], {
        cwd,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, npm_config_update_notifier: 'false', ...o.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => {
        const exitCode = code ?? 1;
        commands.push({ command, cwd, exitCode, stdout, stderr });
        if (exitCode !== 0 && !o.nothrow) reject(new ExecError(command, exitCode, stderr.slice(-2_000)));
        else resolve({ exitCode, stdout, stderr });
      });
    });
  const shell = (defaults: ShOptions): Shell => {
    const sh = ((first: TemplateStringsArray | string, ...rest: unknown[]) =>
      typeof first === 'string'
        ? exec(first, { ...defaults, ...(rest[0] as ShOptions | undefined) })
        : exec(renderCommand(first, ...rest), defaults)) as Shell;
    sh.with = (o) => shell({ ...defaults, ...o });
    return sh;
  };
  const logger = Object.assign((m: string) => void log.push(m), {
    info: (m: string) => void log.push(m),
    warn: (m: string) => void log.push(`warning: ${m}`),
    error: (m: string) => void log.push(`error: ${m}`),
    group: (title: string) => {
      log.push(`::group::${title}`);
      return () => void log.push('::endgroup::');
    },
  });
  await mkdir(workspace);
  await mkdir(home);
  const ctx: JobContext<unknown> = {
    job: { name: 'test', declaredName: 'test', attempt: 1, runId: 'p/1', pipeline: 'p' },
    sh: shell({}),
    env: {},
    secrets: {},
    workspace,
    log: logger,
    upload: () => Promise.reject(new Error('no artifacts in a local context')),
    download: () => Promise.reject(new Error('no artifacts in a local context')),
    outputs: { set: () => {}, get: () => undefined },
    cache: async (o) => {
      caches.push(o);
      return { hit: 'miss', key: null };
    },
    // As the agent's: a hash over each matched file's hash, in path order; '' when none matches.
    hashFiles: async (...patterns) => {
      const files = (
        await glob(
          patterns.filter((p) => !p.startsWith('!')),
          { cwd: workspace, ignore: patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1)), dot: true },
        )
      ).sort();
      if (!files.length) return '';
      const total = createHash('sha256');
      for (const f of files) total.update(createHash('sha256').update(await readFile(join(workspace, f))).digest());
      return total.digest('hex');
    },
    matrix: {},
    trigger: { event: 'manual', branch: null, commit: null, repository: options.repository ?? null, inputs: {} },
    signal: new AbortController().signal,
  };
  return {
    ctx,
    workspace,
    commands,
    log,
    caches,
    [Symbol.asyncDispose]: () => rm(root, { recursive: true, force: true }),
  };
}
