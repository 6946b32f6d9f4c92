/**
 * The job host: a child process per job that evaluates the pipeline bundle in job mode and runs
 * the one leased body. Every command, upload and download goes back to the agent over IPC, so
 * the agent's executor decides where commands run; user code never runs inside the agent.
 */
import { pathToFileURL } from 'node:url';
import type { CacheResult, JobContext, JobLogger, Pipeline, Shell, ShOptions, ShResult } from '@hiveforge/sdk';
// The runtime entry, without the SDK's schemas: loading zod was most of a host's start.
import {
  ExecError,
  SpecDriftError,
  assemblePipelineSpec,
  checkCacheOptions,
  declaredPipelineOf,
  isHiveForgeError,
  isPipeline,
  renderCommand,
  structuralDigest,
} from '@hiveforge/sdk/runtime';
import { hashFiles } from './hash-files.js';
import type { ExecReply, FromHost, HostRequest, RunMessage, ToHost } from './job-protocol.js';

const send = (message: FromHost) => process.send?.(message);

type RequestBody = HostRequest extends infer R ? (R extends HostRequest ? Omit<R, 'id'> : never) : never;

/** The host's side of its IPC with the agent: its requests awaiting replies, and its job's cancellation. */
interface HostConnection {
  /** Sends a request to the agent; resolves or rejects with the agent's reply. */
  request<T>(body: RequestBody): Promise<T>;
  /** Settles the request a reply answers (a reply to no request is dropped). */
  settle(reply: Extract<ToHost, { type: 'reply' }>): void;
  /** Aborted when the agent cancels the job. */
  readonly abort: AbortController;
}

/** Creates the connection of a host that has sent no request yet. */
function createHostConnection(): HostConnection {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  return {
    abort: new AbortController(),
    request<T>(body: RequestBody) {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        send({ ...body, id } as FromHost);
      });
    },
    settle(message) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (!waiter) return;
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new RemoteError(message.error.code, message.error.message));
    },
  };
}

class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function createShell(host: HostConnection, defaults: ShOptions): Shell {
  const run = async (command: string, options: ShOptions): Promise<ShResult> => {
    if (host.abort.signal.aborted) throw new RemoteError('HF_JOB_CANCELLED', 'the job was cancelled');
    const reply = await host.request<ExecReply>({
      type: 'exec',
      command,
      cwd: options.cwd,
      env: options.env ? { ...options.env } : undefined,
      quiet: options.quiet ?? false,
    });
    if (reply.exitCode !== 0 && !options.nothrow)
      throw new ExecError(command, reply.exitCode, reply.stderr.slice(-2_000));
    return reply;
  };
  const shell = ((first: TemplateStringsArray | string, ...rest: unknown[]) => {
    if (typeof first === 'string') return run(first, { ...defaults, ...(rest[0] as ShOptions | undefined) });
    return run(renderCommand(first, ...rest), defaults);
  }) as Shell;
  shell.with = (options) => createShell(host, { ...defaults, ...options });
  return shell;
}

function createLogger(): JobLogger {
  const write = (text: string) => send({ type: 'log', text: text.endsWith('\n') ? text : `${text}\n` });
  const log = ((message: string) => write(message)) as JobLogger;
  log.info = (m) => write(m);
  log.warn = (m) => write(`warning: ${m}`);
  log.error = (m) => write(`error: ${m}`);
  log.group = (title) => {
    write(`::group::${title}`);
    return () => write('::endgroup::');
  };
  return log;
}

async function run(host: HostConnection, message: RunMessage): Promise<void> {
  const { request, abort } = host;
  // The host was started ahead of the job: take on the job's directory and environment now.
  process.chdir(message.hostWorkspace);
  // The same variables, in the same precedence, as the job's commands get (job-environment.ts).
  Object.assign(process.env, message.secrets, message.env);
  const mod = (await import(pathToFileURL(message.bundlePath).href)) as { default?: unknown };
  const p = mod.default;
  if (!isPipeline(p))
    throw new SpecDriftError('the bundle has no default-exported pipeline', ['default export missing']);
  const digest = structuralDigest(assemblePipelineSpec(declaredPipelineOf(p)));
  const expected = new Set(message.expectedDigest);
  const actual = new Set(digest);
  const differences = [
    ...message.expectedDigest.filter((d) => !actual.has(d)).map((d) => `stored spec has: ${d}`),
    ...digest.filter((d) => !expected.has(d)).map((d) => `bundle declares: ${d}`),
  ];
  if (differences.length) {
    throw new SpecDriftError(
      `the bundle's jobs differ from the stored spec (${differences.length} differences): ${differences.slice(0, 5).join('; ')}`,
      differences,
    );
  }
  const definition = (p as Pipeline).jobs.find((j) => j.name === message.job.declaredName);
  if (!definition)
    throw new SpecDriftError(`the bundle declares no job '${message.job.declaredName}'`, [message.job.declaredName]);
  const ownOutputs: Record<string, string> = {};
  const ctx: JobContext<Record<string, string | number | boolean>> = {
    job: message.job,
    sh: createShell(host, {}),
    env: message.env,
    secrets: message.secrets,
    workspace: message.workspace,
    log: createLogger(),
    upload: async (path, options) => {
      await request({ type: 'upload', path, name: options?.name ?? artifactName(path) });
    },
    download: async (name, options) => {
      await request({ type: 'download', name, path: options?.path ?? '.' });
    },
    // Checked here first, so a malformed call fails with the job's own stack.
    cache: (options) => request<CacheResult>({ type: 'cache', options: { ...checkCacheOptions(options) } }),
    hashFiles: (...patterns) => hashFiles(message.hostWorkspace, patterns),
    outputs: {
      set(key, value) {
        ownOutputs[key] = String(value);
        send({ type: 'output', key, value: String(value) });
      },
      get(job, key) {
        const name = typeof job === 'string' ? job : job.name;
        return (
          message.needsOutputs[name]?.[key] ??
          Object.entries(message.needsOutputs).find(([n]) => n.startsWith(`${name}[`))?.[1]?.[key]
        );
      },
    },
    matrix: message.matrix,
    trigger: message.trigger,
    signal: abort.signal,
  };
  await definition.body(ctx as never);
}

/** The default artifact name of a path: its segments joined by `-`. */
export function artifactName(path: string): string {
  return (
    path
      .replace(/^\.\/+/, '')
      .replace(/\/+$/, '')
      .replaceAll('/', '-') || 'workspace'
  );
}

// This file is the job host process's entry point: the process's one connection to its agent.
const host = createHostConnection();
process.on('message', (message: ToHost) => {
  if (message.type === 'run') {
    run(host, message).then(
      () => send({ type: 'done', ok: true }),
      (error: unknown) => {
        const e = error as { code?: string; message?: string; exitCode?: number; stack?: string };
        const code = isHiveForgeError(error) || error instanceof RemoteError ? String(e.code) : 'HF_JOB_ERROR';
        const text =
          isHiveForgeError(error) || error instanceof RemoteError
            ? String(e.message)
            : String(e.stack ?? e.message ?? error);
        send({
          type: 'done',
          ok: false,
          error: {
            code,
            message: text,
            exitCode: typeof e.exitCode === 'number' ? e.exitCode : null,
            // An ExecError's stderr was streamed as the command ran.
            ...(error instanceof ExecError ? { summary: error.summary } : {}),
          },
        });
      },
    );
  } else if (message.type === 'cancel') {
    host.abort.abort(new RemoteError('HF_JOB_CANCELLED', message.reason));
  } else if (message.type === 'reply') {
    host.settle(message);
  }
});

process.on('disconnect', () => process.exit(1));
// Loaded: the pool gives a ready host before one still starting.
send({ type: 'ready' });
