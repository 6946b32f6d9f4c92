import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttemptResult, Lease } from '@hiveforge/coordinator';
import { declaredSecretsOf } from './lease-secrets.js';
import { DiskQuotaError, type PipelineSpec, isHiveForgeError, structuralDigest } from '@hiveforge/sdk';
import type { ArtifactClient } from './artifact-client.js';
import type { CacheClient } from './cache-client.js';
import { createJobCaches } from './job-caches.js';
import type { LocalCache } from './local-cache.js';
import type { LocalArtifacts } from './local-artifacts.js';
import type { ArchiveCompression } from './archive-compression.js';
import { createArtifactTransfer } from './artifact-transfer.js';
import { type CoordinatorClient, errorCodeOf } from './client.js';
import type { Executor, JobEnvironment } from './executors/types.js';
import { jobVariables } from './job-environment.js';
import { attemptFingerprint } from './fingerprint.js';
import type { JobHostPool } from './job-host-pool.js';
import type { ExecReply, FromHost, ToHost } from './job-protocol.js';
import { directorySize, watchDiskQuota } from './workspace-usage.js';
import { createOutputTail } from './output-tail.js';
import { type OnLogLimit, createLogShipper, failedByLog } from './log-shipper.js';
import { createMasker, maskResult } from './masking.js';
import { withRetry } from './retry.js';
import type { Timeline } from './timeline.js';

/** Where a job runner keeps bundles and workspaces. */
export interface JobRunnerDeps {
  client: CoordinatorClient;
  artifacts: ArtifactClient;
  /** How artifact uploads are compressed (`archiveCompressionFor` the coordinators). @default 'auto' */
  archiveCompression?: ArchiveCompression;
  /** The coordinator's caches (`ctx.cache`). */
  caches: CacheClient;
  /** The agent's local copies of cache entries. @default null (none kept) */
  localCache?: LocalCache | null;
  /** The archives of the artifacts this agent uploaded, for its later jobs. @default null (none kept) */
  localArtifacts?: LocalArtifacts | null;
  executor: Executor;
  /** The agent's id (job environments are labelled with it). */
  agentId?: string;
  /** Where job host processes come from. */
  hosts: JobHostPool;
  /** Bundles already on disk, by version id. */
  bundles: Map<string, { path: string; spec: PipelineSpec }>;
  workDir: string;
  /** The agent's configuration hash, for each attempt's fingerprint (see `fingerprint.ts`). */
  configHash: string;
  /** Secrets this agent can hand to jobs that declare them. */
  secrets: Readonly<Record<string, string>>;
  /** Variables of the agent's environment its configuration passes to jobs. @default {} */
  passed?: Readonly<Record<string, string>>;
  /** Called with each piece of masked output, prefixed by nothing. */
  onOutput?: (lease: Lease, text: string) => void;
  /** Keep workspaces after jobs finish (for debugging). @default false */
  keepWorkspaces?: boolean;
  /** The agent's own credentials (registration secret, token): masked in all a job sends back. */
  credentials?: readonly string[];
  /** The most bytes of a job's log. @default 64 MiB */
  logLimitBytes?: number;
  /** What a job past its log limit does. @default 'truncate' */
  onLogLimit?: OnLogLimit;
  /** After a cancel, how long the job may take to stop before it is killed. @default 10000 */
  cancelGraceMs?: number;
  /**
   * How long each of the job's calls to the coordinator is tried again while it cannot answer
   * (see `withRetry`). @default DEFAULT_RETRY_FOR_MS (120 s)
   */
  retryForMs?: number;
  /** Receives the job's steps (see timeline.ts). @default none */
  timeline?: Timeline;
}

/** A job being run. `cancel` is safe to call twice. */
export interface RunningJob {
  readonly lease: Lease;
  cancel(reason: 'cancelled' | 'timeout' | 'shutdown'): void;
  /** Stops the job without reporting: its lease was declared lost. */
  abandon(): void;
  /** Resolves when the job's work is over and its logs are shipped; completion may still be on its way. */
  readonly finished: Promise<void>;
  /** Resolves once the coordinator has the completion (null when the attempt was fenced or abandoned). */
  readonly done: Promise<AttemptResult | null>;
}

/** The folder of the agent's work directory where unsent logs wait (see `LogShipperOptions.spillPath`). */
export const LOG_SPILL_DIR = 'log-spill';

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 120);

/** Bundles are content-addressed by version id, so one download serves every job of a version. */
async function loadBundle(deps: JobRunnerDeps, versionId: string): Promise<{ path: string; spec: PipelineSpec }> {
  const cached = deps.bundles.get(versionId);
  if (cached) return cached;
  const dir = join(deps.workDir, 'bundles');
  const path = join(dir, `${slug(versionId)}.mjs`);
  const { bundle, spec } = await deps.client.agent.bundle.query({ versionId });
  await mkdir(dir, { recursive: true });
  // Two jobs of a new version may download it in the same millisecond: each writes its own file.
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, bundle);
  await rename(tmp, path);
  const entry = { path, spec: spec as PipelineSpec };
  deps.bundles.set(versionId, entry);
  return entry;
}

/**
 * Runs one leased job: fresh workspace, job environment from the executor, the bundle evaluated
 * in a job host child process, logs shipped as they come, artifacts, completion, cleanup.
 */
export function runJob(deps: JobRunnerDeps, lease: Lease): RunningJob {
  const host: { child: ChildProcess | null } = { child: null };
  const abort = new AbortController();
  let stopReason: 'cancelled' | 'timeout' | 'shutdown' | 'abandoned' | 'quota' | null = null;
  /** Set when the workspace outgrew the job's `disk` quota (then `stopReason` is `quota`). */
  let overQuota: DiskQuotaError | null = null;
  // Everything that leaves the job goes through one masker: its log, its error, its outputs.
  // A job's secrets are the coordinator's (in its lease) over the agent's own of the same name.
  const given = declaredSecretsOf(lease, deps.secrets);
  const masker = createMasker([
    ...Object.values(deps.secrets),
    ...Object.values(lease.secrets ?? {}),
    ...(deps.credentials ?? []),
  ]);
  const shipper = createLogShipper({
    masker,
    limitBytes: deps.logLimitBytes,
    onLimit: deps.onLogLimit,
    // The log cannot be shipped (refused, or past the limit with `fail`): the job stops and fails.
    onFailure: () => stop('cancelled'),
    onText: (text) => deps.onOutput?.(lease, text),
    send: async (chunks) => {
      await deps.client.agent.logs.mutate({ jobId: lease.jobId, attempt: lease.attempt, chunks });
    },
    retryForMs: deps.retryForMs,
    // What waits to be sent beyond 4 MiB (a long outage) goes to disk: the job is not held up.
    spillPath: join(deps.workDir, LOG_SPILL_DIR, `${slug(lease.jobId)}-a${lease.attempt}.log`),
  });
  const grace = deps.cancelGraceMs ?? 10_000;
  const mark = deps.timeline ? (step: string) => deps.timeline?.(lease.name, step) : () => {};
  mark('leased');
  /** Every call of the job to the coordinator goes through this: an outage shorter than the budget fails nothing. */
  const retry = <T>(call: () => Promise<T>, signal?: AbortSignal) =>
    withRetry(call, { forMs: deps.retryForMs, signal });

  const stop = (reason: NonNullable<typeof stopReason>) => {
    if (stopReason) return;
    stopReason = reason;
    abort.abort();
    host.child?.send({ type: 'cancel', reason } satisfies ToHost, () => {});
    const child = host.child;
    if (child) setTimeout(() => child.kill('SIGKILL'), reason === 'abandoned' ? 0 : grace).unref();
  };

  const workspace = join(deps.workDir, 'workspaces', `${slug(lease.jobId)}-a${lease.attempt}`);
  const execute = async (): Promise<AttemptResult> => {
    let env: JobEnvironment | null = null;
    let stopWatching: (() => void) | null = null;
    const timer = setTimeout(() => stop('timeout'), lease.spec.timeoutMs);
    const outputs: Record<string, string> = {};
    const caches = createJobCaches({
      client: deps.caches,
      local: deps.localCache ?? null,
      spoolDir: join(deps.workDir, 'cache-spool'),
      jobId: lease.jobId,
      attempt: lease.attempt,
      log: (line) => shipper.write(`${line}\n`),
      retry: (call) => retry(call, abort.signal),
    });
    try {
      for (const name of given.withheld) shipper.write(`secret ${name} is not given to pull requests from forks\n`);
      const missing = given.missing;
      if (missing.length)
        throw Object.assign(
          new Error(`this agent has no value for the secret(s) ${missing.join(', ')} the job declares`),
          { code: 'HF_CONFIG' },
        );
      const bundle = await retry(() => loadBundle(deps, lease.versionId), abort.signal);
      const spec = bundle.spec;
      mark('bundle');
      await rm(workspace, { recursive: true, force: true });
      await mkdir(workspace, { recursive: true });
      mark('workspace');
      const image = lease.spec.image ? (spec.images.find((i) => i.name === lease.spec.image) ?? null) : null;
      const prepared = await deps.executor.prepare(image, {
        signal: abort.signal,
        onLog: (text) => shipper.write(text),
        strict: spec.strictImages,
      });
      // Started once the environment is known: the attempt's fingerprint names its image.
      const fingerprint = attemptFingerprint({
        executor: deps.executor.name,
        image: prepared,
        configHash: deps.configHash,
      });
      await retry(
        () => deps.client.agent.start.mutate({ jobId: lease.jobId, attempt: lease.attempt, fingerprint }),
        abort.signal,
      );
      mark('started');
      const secrets = given.values;
      const jobEnv = jobVariables({ lease, passed: deps.passed });
      env = await deps.executor.start({
        jobId: lease.jobId,
        hostWorkspace: workspace,
        image,
        env: jobVariables({ lease, passed: deps.passed, secrets }),
        agentId: deps.agentId,
        runId: lease.runId,
        job: lease.name,
        attempt: lease.attempt,
        resources: lease.spec.resources ?? null,
        user: lease.spec.user ?? null,
      });
      const activeEnv = env;
      const quotaBytes = lease.spec.diskBytes ?? null;
      stopWatching =
        quotaBytes === null
          ? null
          : watchDiskQuota({
              path: workspace,
              quotaBytes,
              onExceeded: (error) => {
                overQuota = error;
                stop('quota');
              },
            });
      mark('environment');
      const child = deps.hosts.take();
      host.child = child;
      if (stopReason) stop(stopReason);
      if (child.stdout) shipper.attach(child.stdout);
      if (child.stderr) shipper.attach(child.stderr);
      const transfer = createArtifactTransfer({
        artifacts: deps.artifacts,
        env: activeEnv,
        lease,
        spoolDir: join(deps.workDir, 'spool'),
        compression: deps.archiveCompression,
        local: deps.localArtifacts ?? null,
        retry: (call) => retry(call),
        mark,
      });
      const reply = (id: number, work: Promise<unknown>) =>
        work.then(
          (value) => child.connected && child.send({ type: 'reply', id, ok: true, value } satisfies ToHost),
          (error: Error & { code?: string }) =>
            child.connected &&
            child.send({
              type: 'reply',
              id,
              ok: false,
              error: { code: error.code ?? 'HF_JOB_ERROR', message: error.message },
            } satisfies ToHost),
        );
      const outcome = await new Promise<
        | { ok: true }
        | { ok: false; error: { code: string; message: string; exitCode: number | null; summary?: string } }
      >((resolve) => {
        child.on('message', (message: FromHost) => {
          switch (message.type) {
            case 'log':
              shipper.write(message.text);
              break;
            case 'output':
              outputs[message.key] = message.value;
              break;
            case 'exec': {
              if (!message.quiet) shipper.write(`$ ${message.command}\n`);
              mark(`exec ${message.command.slice(0, 40)}`);
              const [stdout, stderr] = [createOutputTail(), createOutputTail()];
              const [logOut, logErr] = [shipper.writer(), shipper.writer()];
              reply(
                message.id,
                activeEnv
                  .exec(message.command, {
                    cwd: message.cwd,
                    env: message.env,
                    signal: abort.signal,
                    onStdout: (c) => {
                      stdout.push(c);
                      return logOut(c);
                    },
                    onStderr: (c) => {
                      stderr.push(c);
                      return logErr(c);
                    },
                  })
                  .then(({ exitCode }): ExecReply => {
                    mark(`exec exited ${exitCode}`);
                    return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
                  }),
              );
              break;
            }
            case 'upload':
              reply(
                message.id,
                transfer.upload({ path: message.path, name: message.name }).then(() => undefined),
              );
              break;
            case 'download':
              reply(message.id, transfer.download({ name: message.name, path: message.path }));
              break;
            case 'cache':
              reply(message.id, caches.restore(activeEnv, message.options));
              break;
            case 'outputs':
              reply(
                message.id,
                retry(() => deps.client.agent.outputs.query({ runId: lease.runId, job: message.job })),
              );
              break;
            case 'done':
              resolve(message);
              break;
          }
        });
        child.on('exit', (code, signal) =>
          resolve({
            ok: false,
            error: {
              code: 'HF_JOB_ERROR',
              message: `the job host exited (${signal ?? `status ${code}`}) before the job finished`,
              exitCode: code,
            },
          }),
        );
        child.send({
          type: 'run',
          bundlePath: bundle.path,
          expectedDigest: structuralDigest(spec),
          job: {
            name: lease.name,
            declaredName: lease.spec.job,
            attempt: lease.attempt,
            runId: lease.runId,
            pipeline: lease.pipeline,
          },
          matrix: lease.spec.matrix ?? {},
          env: jobEnv,
          secrets,
          workspace: activeEnv.workspace,
          hostWorkspace: workspace,
          trigger: {
            event: lease.trigger.event,
            branch: lease.trigger.branch,
            commit: lease.trigger.commit,
            repository: lease.trigger.repository,
            inputs: lease.trigger.inputs,
          },
          needsOutputs: lease.needsOutputs,
        } satisfies ToHost);
      });
      mark('body done');
      if (child.exitCode === null) child.kill('SIGKILL');
      stopWatching?.();
      // A job that outgrew its quota between two checks fails all the same.
      if (!stopReason && quotaBytes !== null) {
        const { bytes } = await directorySize(workspace);
        if (bytes > quotaBytes) overQuota = new DiskQuotaError(quotaBytes, bytes);
      }
      if (overQuota) {
        const described = `${overQuota.code}: ${overQuota.message}`;
        shipper.write(`${described}\n`);
        return { status: 'failed', exitCode: null, error: described, outputs };
      }
      if (stopReason === 'timeout') {
        shipper.write(`job timed out after ${lease.spec.timeoutMs} ms\n`);
        return { status: 'timed_out', exitCode: null, error: `timed out after ${lease.spec.timeoutMs} ms`, outputs };
      }
      if (stopReason)
        return { status: 'cancelled', exitCode: null, error: `the job was stopped (${stopReason})`, outputs };
      if (outcome.ok) {
        // Restored before, saved after success: a failed job's caches are never saved.
        await caches.saveAll();
        return { status: 'succeeded', exitCode: 0, error: null, outputs };
      }
      const described =
        outcome.error.code === 'HF_JOB_ERROR'
          ? outcome.error.message
          : `${outcome.error.code}: ${outcome.error.message}`;
      // A failed command's stderr was streamed as it ran: the log gets the command and its exit
      // status once, and job.error keeps the tail for `runs.get`.
      const { summary } = outcome.error;
      shipper.write(`${summary === undefined ? described : `${outcome.error.code}: ${summary}`}\n`);
      return { status: 'failed', exitCode: outcome.error.exitCode, error: described.slice(0, 16_000), outputs };
    } catch (error) {
      if (stopReason === 'abandoned') return { status: 'failed', exitCode: null, error: 'abandoned', outputs };
      const message = isHiveForgeError(error)
        ? `${error.code}: ${error.message}`
        : (error as { code?: string }).code
          ? (error as Error).message
          : String((error as Error).stack ?? error);
      shipper.write(`${message}\n`);
      return { status: stopReason ? 'cancelled' : 'failed', exitCode: null, error: message.slice(0, 16_000), outputs };
    } finally {
      clearTimeout(timer);
      stopWatching?.();
      await env?.teardown().catch(() => {});
      mark('teardown');
    }
  };

  const executed = (async () => {
    const result = await execute();
    // A log that could not be shipped fails the job, loudly, with its code.
    const unshipped = await shipper.close().then(
      () => null,
      (error: Error & { code?: string }) => error,
    );
    mark('log shipped');
    return maskResult(masker, unshipped ? failedByLog(result, unshipped) : result);
  })();
  const done = (async (): Promise<AttemptResult | null> => {
    try {
      const result = await executed;
      if (stopReason === 'abandoned' || shipper.fenced) return null;
      try {
        await retry(() => deps.client.agent.complete.mutate({ jobId: lease.jobId, attempt: lease.attempt, result }));
      } catch (error) {
        if (errorCodeOf(error) === 'HF_FENCED') return null;
        throw error;
      }
      mark('completed');
      return result;
    } finally {
      // After the completion, not before: removing a large tree (a node_modules) holds up no dependent.
      if (!deps.keepWorkspaces) await rm(workspace, { recursive: true, force: true }).catch(() => {});
      mark('workspace removed');
    }
  })();

  return {
    lease,
    cancel: (reason) => stop(reason),
    abandon: () => stop('abandoned'),
    finished: executed.then(() => {}),
    done,
  };
}
