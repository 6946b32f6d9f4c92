import { archiveCompressionFor } from './archive-compression.js';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lease } from '@hiveforge/coordinator';
import { type ArtifactClient, createArtifactClient } from './artifact-client.js';
import { createCacheClient } from './cache-client.js';
import { createLocalCache } from './local-cache.js';
import { createLocalArtifacts } from './local-artifacts.js';
import { type CoordinatorClient, createAgentClient, errorCodeOf } from './client.js';
import { createEndpoints } from './endpoints.js';
import type { Executor } from './executors/types.js';
import { hostBasics, passedVariables } from './job-environment.js';
import { configHash } from './fingerprint.js';
import { type JobHostPool, createJobHostPool } from './job-host-pool.js';
import { isRetryable } from './retry.js';
import { LOG_SPILL_DIR, type RunningJob, runJob } from './job-runner.js';
import { createWorkspaceUsage } from './workspace-usage.js';
import type { OnLogLimit } from './log-shipper.js';
import type { PipelineSpec } from '@hiveforge/sdk';
import type { Timeline } from './timeline.js';

/** Options of an agent. */
export interface AgentOptions {
  /** The coordinator's base URL, or several: any coordinator serves any request. */
  url: string | readonly string[];
  /** The shared registration secret. */
  registrationSecret: string;
  /** @default the host name */
  name?: string;
  /** Labels jobs can require. @default [] */
  labels?: readonly string[];
  /** Jobs run at once. @default 1 */
  capacity?: number;
  /** Where bundles and workspaces live. */
  workDir: string;
  executor: Executor;
  /** Exit after one job. @default false */
  once?: boolean;
  /** Secrets jobs may declare. @default {} */
  secrets?: Readonly<Record<string, string>>;
  /** Receives each piece of job output (already masked). */
  onOutput?: (lease: Lease, text: string) => void;
  /** Receives agent-level events for logging. */
  onEvent?: (event: AgentEvent) => void;
  /** @default false */
  keepWorkspaces?: boolean;
  /**
   * The hash of the configuration the agent was started from, recorded in each attempt's
   * fingerprint: a caller that resolves a configuration (the CLI) hashes all of it with
   * `configHash`. @default `configHash` of these options (the executor by its name only)
   */
  configHash?: string;
  /** How long a pull waits on the coordinator for work. @default the server's maximum */
  pullWaitMs?: number;
  /**
   * How long a call to the coordinator may take (a pull: its wait on top) before it fails as
   * timed out and is tried again. @default 30000
   */
  callTimeoutMs?: number;
  /**
   * How long each call of a job (start, logs, artifacts, outputs, completion) is tried again
   * while the coordinator or its store cannot answer: an outage shorter than this fails no job.
   * @default 120000
   */
  retryForMs?: number;
  /**
   * Names of variables of the agent's own environment that jobs get (see job-environment.ts);
   * nothing else of it reaches a job. @default []
   */
  passEnv?: readonly string[];
  /** The most bytes of a job's log (see log-shipper.ts). @default 64 MiB */
  logLimitBytes?: number;
  /** Past the log limit, the log ends with a truncation line (`truncate`) or the job fails. @default 'truncate' */
  onLogLimit?: OnLogLimit;
  /**
   * The most bytes of cache entries the agent keeps in `<workDir>/caches`, so that a job whose
   * entry it restored or saved before restores without a transfer; 0 keeps none.
   * @default DEFAULT_LOCAL_CACHE_BYTES (2 GiB)
   */
  localCacheBytes?: number;
  /**
   * The most bytes of the archives of its own uploads the agent keeps in
   * `<workDir>/artifact-copies` while it runs, so that its later jobs of the same run extract an
   * artifact it uploaded without downloading it (local-artifacts.ts); 0 keeps none.
   * @default DEFAULT_LOCAL_ARTIFACT_BYTES (1 GiB)
   */
  localArtifactBytes?: number;
  /**
   * The job host processes to take jobs' hosts from, started by the caller ahead of the agent
   * (`hiveforge run` starts them before it bundles the pipeline, so the first job's host has
   * loaded by then); the agent closes it when it stops.
   * @default a pool of capacity + 1 hosts (1 with `once`), started with the agent
   */
  hostPool?: JobHostPool;
  /** Receives the steps of each job (see timeline.ts). @default none */
  timeline?: Timeline;
}

export type AgentEvent =
  | { type: 'registered'; agentId: string }
  /** Environments an earlier life of this agent left (it was killed) were removed. */
  | { type: 'reaped'; count: number }
  | { type: 'deregistered'; agentId: string }
  | { type: 'leased'; lease: Lease }
  | { type: 'finished'; lease: Lease; status: string | null }
  | { type: 'lost'; lease: Lease }
  | { type: 'error'; error: unknown };

/** A running agent. */
export interface Agent extends AsyncDisposable {
  /**
   * Registers and pulls until stopped (or after one job with `once`), then deregisters: the
   * coordinator marks the agent gone at once, and its token stops working.
   */
  run(): Promise<void>;
  /** Stops pulling; with `cancel`, also cancels running jobs. Resolves when they are done. */
  stop(options?: { cancel?: boolean }): Promise<void>;
  readonly agentId: string | null;
  /** The hash of this agent's configuration each attempt's fingerprint carries (see `configHash`). */
  readonly configHash: string;
  readonly client: CoordinatorClient;
}

/** How long an agent that stops waits for its deregistration to be answered. */
const DEREGISTER_TIMEOUT_MS = 5_000;

/** Waits `ms`, or less when `signal` aborts; its abort listener goes when the wait ends. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Creates an agent: it registers, long-polls for jobs its labels satisfy, heartbeats its leases
 * and runs each job through its executor.
 */
export function createAgent(options: AgentOptions): Agent {
  let token: string | undefined;
  let agentId: string | null = null;
  const urls = typeof options.url === 'string' ? [options.url] : options.url;
  const endpoints = createEndpoints(urls);
  // Over loopback gzip costs more CPU than the bytes it saves: plain tars (docs/concepts.md, "Artifacts").
  const archiveCompression = archiveCompressionFor(urls);
  const client = createAgentClient({ url: endpoints, token: () => token, timeoutMs: options.callTimeoutMs });
  const artifacts: ArtifactClient = createArtifactClient({ url: endpoints, token: () => token });
  const caches = createCacheClient({ url: endpoints, token: () => token });
  const localCache =
    options.localCacheBytes === 0
      ? null
      : createLocalCache({ dir: join(options.workDir, 'caches'), limitBytes: options.localCacheBytes });
  const localArtifacts =
    options.localArtifactBytes === 0
      ? null
      : createLocalArtifacts({ dir: join(options.workDir, 'artifact-copies'), limitBytes: options.localArtifactBytes });
  const capacity = options.capacity ?? 1;
  const running = new Map<string, RunningJob>();
  /** Keys (`job#attempt`) of running jobs whose lease the coordinator declared lost. */
  const lost = new Set<string>();
  const stopping = new AbortController();
  let heartbeatMs = 2_000;
  let finished: Promise<void> | null = null;
  let pulledOnce = false;
  const emit = (event: AgentEvent) => options.onEvent?.(event);
  const hosts = options.hostPool ?? createJobHostPool(options.once ? 1 : capacity + 1, hostBasics());
  const passed = passedVariables(options.passEnv ?? []);
  const bundles = new Map<string, { path: string; spec: PipelineSpec }>();
  const hash = options.configHash ?? configHash(options as unknown as Record<string, unknown>);
  const disk = createWorkspaceUsage({ workspacesDir: join(options.workDir, 'workspaces'), workDir: options.workDir });

  /** The registration under way, which every slot refused at once waits for. */
  let registering: Promise<void> | null = null;
  /**
   * Registers again after `stale` was refused (the agent was marked gone): once, however many
   * slots were refused, and not at all when another slot has registered since.
   */
  const reRegister = (stale: string | undefined): Promise<void> => {
    if (token !== stale) return Promise.resolve();
    registering ??= register().finally(() => {
      registering = null;
    });
    return registering;
  };

  /** Tells the coordinators this agent leaves, so it is gone at once rather than after a silence. */
  const deregister = async () => {
    if (token === undefined || agentId === null) return;
    try {
      await client.agent.deregister.mutate(undefined, { signal: AbortSignal.timeout(DEREGISTER_TIMEOUT_MS) });
      emit({ type: 'deregistered', agentId });
    } catch (error) {
      emit({ type: 'error', error });
    }
  };

  const register = async () => {
    for (let i = 0; ; i++) {
      try {
        const res = await client.agent.register.mutate({
          secret: options.registrationSecret,
          name: options.name ?? (await import('node:os')).hostname(),
          labels: [...(options.labels ?? [])],
          capacity,
        });
        token = res.token;
        agentId = res.agentId;
        emit({ type: 'registered', agentId });
        return;
      } catch (error) {
        if (!isRetryable(error) || stopping.signal.aborted) throw error;
        await sleep(Math.min(5_000, 200 * 2 ** i), stopping.signal);
      }
    }
  };

  // Aborted once the agent is stopping and runs no job: the heartbeat loop's sleep ends then,
  // not a heartbeat interval later (which held up `stop()`, and `hiveforge run`'s exit, by up
  // to one interval when the last jobs completed during a sleep begun while they ran).
  const drained = new AbortController();
  const checkDrained = () => {
    if (stopping.signal.aborted && running.size === 0) drained.abort();
  };
  stopping.signal.addEventListener('abort', checkDrained);

  const heartbeatLoop = async () => {
    let sentAt = Date.now();
    while (!stopping.signal.aborted || running.size > 0) {
      // Every interval from the last one's start, not from its answer: a slow heartbeat (a busy
      // store) must not stretch the time between renewals towards the lease TTL.
      await sleep(Math.max(0, sentAt + heartbeatMs - Date.now()), drained.signal);
      sentAt = Date.now();
      if (running.size === 0 && stopping.signal.aborted) break;
      try {
        // A lease declared lost stays lost: it is not renewed again (nor reported again) while
        // its abandoned job winds down.
        const leases = [...running]
          .filter(([key]) => !lost.has(key))
          .map(([, r]) => ({ jobId: r.lease.jobId, attempt: r.lease.attempt }));
        const res = await client.agent.heartbeat.mutate({ leases, disk: await disk.report() });
        heartbeatMs = res.heartbeatIntervalMs;
        for (const [key, status] of Object.entries(res.leases)) {
          const job = running.get(key);
          if (!job || lost.has(key)) continue;
          if (status === 'cancel') job.cancel('cancelled');
          if (status === 'lost') {
            lost.add(key);
            emit({ type: 'lost', lease: job.lease });
            job.abandon();
          }
        }
      } catch (error) {
        emit({ type: 'error', error });
      }
    }
  };

  const slot = async () => {
    while (!stopping.signal.aborted) {
      if (options.once && pulledOnce) return;
      const requestId = randomUUID();
      let lease: Lease | null = null;
      for (let i = 0; !stopping.signal.aborted; i++) {
        const used = token;
        try {
          const res = await client.agent.pull.mutate(
            // A resend (after an error or a lost reply) gets the lease decided for the first.
            { requestId, waitMs: options.pullWaitMs, resend: i > 0 },
            { signal: stopping.signal },
          );
          lease = res.lease as Lease | null;
          break;
        } catch (error) {
          if (stopping.signal.aborted) break;
          if (
            errorCodeOf(error) === 'HF_UNAUTHENTICATED' ||
            (error as { data?: { httpStatus?: number } }).data?.httpStatus === 401
          ) {
            // The token was refused (the agent was marked gone): say why, and register anew.
            emit({ type: 'error', error });
            await reRegister(used);
            continue;
          }
          emit({ type: 'error', error });
          await sleep(Math.min(5_000, 100 * 2 ** i) * (0.5 + Math.random()), stopping.signal);
        }
      }
      if (!lease) continue;
      if (options.once) {
        if (pulledOnce) return;
        pulledOnce = true;
      }
      emit({ type: 'leased', lease });
      const key = `${lease.jobId}#${lease.attempt}`;
      const job = runJob(
        {
          client,
          artifacts,
          archiveCompression,
          caches,
          localCache,
          localArtifacts,
          executor: options.executor,
          agentId: agentId ?? undefined,
          hosts,
          bundles,
          workDir: options.workDir,
          configHash: hash,
          secrets: options.secrets ?? {},
          passed,
          credentials: token ? [options.registrationSecret, token] : [options.registrationSecret],
          logLimitBytes: options.logLimitBytes,
          onLogLimit: options.onLogLimit,
          onOutput: options.onOutput,
          keepWorkspaces: options.keepWorkspaces,
          retryForMs: options.retryForMs,
          timeline: options.timeline,
        },
        lease,
      );
      running.set(key, job);
      const completed = job.done
        .catch((error) => {
          emit({ type: 'error', error });
          return null;
        })
        .then((result) => {
          running.delete(key);
          lost.delete(key);
          emit({ type: 'finished', lease, status: result?.status ?? null });
          checkDrained();
        });
      if (options.once) {
        await completed;
        stopping.abort();
        return;
      }
      // The slot is free once the work is over: pull the next job while the completion is on
      // its way, so a dependent it unblocks is leased the moment the coordinator records it.
      await job.finished;
    }
  };

  const agent: Agent = {
    get agentId() {
      return agentId;
    },
    client,
    configHash: hash,
    run() {
      finished ??= (async () => {
        await mkdir(options.workDir, { recursive: true });
        // Logs an earlier life of this agent could not send are of attempts it no longer runs.
        await rm(join(options.workDir, LOG_SPILL_DIR), { recursive: true, force: true });
        // An earlier life's kept archives are unknown to this one.
        await localArtifacts?.clear();
        // A killed earlier life of this agent (same work directory) may have left environments.
        const reaped = (await options.executor.reap?.()) ?? 0;
        if (reaped > 0) emit({ type: 'reaped', count: reaped });
        await register();
        const heartbeats = heartbeatLoop();
        await Promise.all(Array.from({ length: options.once ? 1 : capacity }, slot));
        stopping.abort();
        hosts.close();
        await heartbeats;
        await deregister();
        await localArtifacts?.clear();
      })();
      return finished;
    },
    async stop(stopOptions = {}) {
      stopping.abort();
      if (stopOptions.cancel) for (const job of running.values()) job.cancel('shutdown');
      await Promise.allSettled([...running.values()].map((j) => j.done));
      if (finished) await finished.catch(() => {});
    },
    [Symbol.asyncDispose]: () => agent.stop({ cancel: true }),
  };
  return agent;
}
