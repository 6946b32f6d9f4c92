import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  chooseExecutor,
  configHash,
  createAgent,
  createExecutor,
  createFileTimeline,
  createJobHostPool,
  hostBasics,
  executorNames,
  executors,
  isExecutorName,
} from '@hiveforge/agent';
import {
  type Diagnostic,
  createCoordinator,
  createMemoryStore,
  createUserToken,
  formatDiagnostic,
} from '@hiveforge/coordinator';
import { ConfigError, ExecutorUnavailableError, type PipelineSpec, TriggerEvent, formatDuration } from '@hiveforge/sdk';
import { type PipelinePackage, packagePipeline } from '../bundle.js';
import type { CommandIO } from '../command-io.js';
import { analyzeFile } from './analyze.js';
import { DEFAULT_LOG_LIMIT, parseOnLogLimit, parsePassEnv, parseSize } from '../config.js';
import { resolveEntry } from '../entry.js';
import { gitInfo } from '../git.js';
import { keepRunArtifacts, renderKeptArtifacts } from '../local-artifacts.js';
import { createStyle, renderSummary } from '../output.js';
import { followRun, followsLive } from '../run-follower.js';
import { createUserClient, diagnosticsOf } from '../user-client.js';

/** Options of `hiveforge run`. */
export interface RunCommandOptions {
  file?: string;
  /** Run only these jobs and what they need. */
  job?: string[];
  /** Jobs run at once. @default 4 */
  concurrency?: number;
  event?: string;
  branch?: string;
  /** `NAME` (value from the environment) or `NAME=value`. */
  secret?: string[];
  keepWorkspaces?: boolean;
  /** @default `<project>/.hiveforge` */
  workDir?: string;
  /** Names of variables of this environment that jobs get (nothing else of it reaches a job). */
  passEnv?: string[];
  /**
   * Where jobs run: `auto` picks a container engine when a job declares an image (or a default
   * image is given) and one answers, else the host; or a registered executor's name.
   * @default 'auto'
   */
  executor?: string;
  /** The image of jobs that declare none, when jobs run in containers. */
  defaultImage?: string;
  /** The most log bytes a job may print (a size: `64MiB`). @default 64 MiB */
  logLimit?: string;
  /** What a job past its log limit does. @default 'truncate' */
  onLogLimit?: string;
  color?: boolean;
  /**
   * Plain prefixed lines even on a terminal, without the live status block.
   * @default false (the block is drawn when stdout is a terminal and color is on)
   */
  plain?: boolean;
  /** Adds each job's environment (its attempt's fingerprint) to the summary. @default false */
  verbose?: boolean;
  /**
   * Where the run's artifacts are kept (as `<name>.tar.gz` or `<name>.tar`) once it ends; the
   * summary lists them with their sizes.
   * @default `<work dir>/artifacts/<run id>`
   */
  artifacts?: string;
}

export type { CommandIO } from '../command-io.js';

function parseSecrets(specs: readonly string[]): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    const value = eq < 0 ? process.env[spec] : spec.slice(eq + 1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ConfigError(`--secret ${spec}: the name must be letters, digits and _`);
    if (value === undefined)
      throw new ConfigError(`--secret ${name}: no value given and ${name} is not set in the environment`);
    secrets[name] = value;
  }
  return secrets;
}

/**
 * The executor a run uses: a name as given, or for `auto` the registry's choice (a container
 * engine when a job needs an image and one answers). A named executor that runs images must answer.
 */
async function pickExecutor(
  requested: string,
  config: { workDir: string; defaultImage: string | null },
  jobs: PipelineSpec['jobs'],
) {
  if (requested === 'auto')
    return chooseExecutor(config, { needsImages: config.defaultImage !== null || jobs.some((j) => j.image !== null) });
  if (!isExecutorName(requested))
    throw new ConfigError(`--executor must be auto or one of ${Object.keys(executors).join(', ')}, not ${requested}`);
  if (executors[requested].runsImages && !(await executors[requested].available(config)))
    throw new ExecutorUnavailableError(
      `--executor ${requested}: its engine does not answer (is it running, and is its address right, e.g. DOCKER_HOST?)`,
    );
  return requested;
}

/** How long the embedded agent's lease lives without a heartbeat: see `runCommand`. */
const EMBEDDED_LEASE_TTL = '10m';

/** Prints a pipeline's diagnostics and that nothing was run; the run's exit code, 1. */
function nothingRun(diagnostics: readonly Diagnostic[], io: CommandIO): number {
  for (const d of diagnostics) io.stderr.write(`${formatDiagnostic(d)}\n`);
  io.stderr.write(`${diagnostics.filter((d) => d.severity === 'error').length} error(s): nothing was run\n`);
  return 1;
}

/**
 * `hiveforge run`: the embedded default. A coordinator (memory store) and an agent start
 * in-process, talking tRPC over loopback HTTP; the pipeline is deployed, run and watched.
 * Resolves with the exit code: 0 when the run succeeded.
 */
export async function runCommand(options: RunCommandOptions, io: CommandIO): Promise<number> {
  const out = createStyle(io.stdout, options.color);
  const entry = resolveEntry(options.file);
  const secrets = parseSecrets(options.secret ?? []);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    throw new ConfigError('--concurrency must be a whole number from 1 to 256');
  const event = options.event ?? 'local';
  if (!(event in TriggerEvent)) throw new ConfigError(`--event must be one of ${Object.keys(TriggerEvent).join(', ')}`);

  const logLimitBytes = options.logLimit === undefined ? DEFAULT_LOG_LIMIT : parseSize('--log-limit', options.logLimit);
  // HIVEFORGE_TIMELINE=<file>: the run's and its jobs' steps, timed from the process's start.
  const timelineFile = process.env.HIVEFORGE_TIMELINE;
  const timeline = timelineFile ? createFileTimeline(timelineFile) : undefined;
  const mark = (step: string) => timeline?.('run', step);
  mark('command');
  // The agent's job hosts (a Node process each, loading the SDK) start now, while the pipeline
  // is bundled and deployed, not after: the first job's host is ready when it is leased.
  const hostPool = createJobHostPool(concurrency + 1, hostBasics());
  await using _hostPool = { [Symbol.asyncDispose]: async () => hostPool.close() };
  let pkg: PipelinePackage;
  try {
    pkg = await packagePipeline(entry);
  } catch (error) {
    // A file that does not parse fails the bundler first: report it as `validate` does.
    const analysis = analyzeFile(options.file);
    if (analysis.ok) throw error;
    return nothingRun(analysis.diagnostics, io);
  }
  mark('bundled');
  // Cache entries outlive the run in .hiveforge/cache: the next local run restores them.
  const store = createMemoryStore({ cachesDir: join(options.workDir ?? join(pkg.root, '.hiveforge'), 'cache') });
  // Declared before the coordinator, so disposed after it: removes the artifacts' temporary files.
  await using _store = { [Symbol.asyncDispose]: () => store.close() };
  const agentSecret = randomBytes(24).toString('base64url');
  await using coordinator = await createCoordinator({
    store,
    agentSecret,
    schedules: false,
    // The embedded coordinator stores what its agent's limit lets through. Its agent lives in
    // this process and cannot be lost without it: a lease that expires here only says the
    // process was held up (a large archive on its thread, a loaded machine) past a cluster's
    // 6 s, and its job would run again for nothing (bench/pipeline.mjs saw an install rerun).
    scheduler: { logLimitBytes, leaseTtl: EMBEDDED_LEASE_TTL },
  });
  mark('coordinator');
  const token = await createUserToken(store, { name: 'local', role: 'admin' });
  const client = createUserClient(coordinator.url, token);

  let deployed: Awaited<ReturnType<typeof client.pipelines.deploy.mutate>>;
  try {
    deployed = await client.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
  } catch (error) {
    const diagnostics = diagnosticsOf(error);
    if (!diagnostics) throw error;
    return nothingRun(diagnostics, io);
  }
  for (const w of deployed.warnings) io.stderr.write(`${formatDiagnostic(w)}\n`);

  mark('deployed');
  const git = await gitInfo(pkg.root);
  const run = await client.runs.trigger.mutate({
    pipeline: deployed.pipeline,
    event: event as TriggerEvent,
    branch: options.branch ?? git.branch,
    commit: git.commit,
    repository: pkg.root,
    only: options.job?.length ? options.job : undefined,
  });
  const { jobs } = await client.runs.get.query({ runId: run._id });
  const names = jobs.map((j) => j.name);
  const workDir = options.workDir ?? join(pkg.root, '.hiveforge');
  // A container sees the project read-only where the host does: `checkout` copies it from there.
  const config = { workDir, defaultImage: options.defaultImage ?? null, docker: { readOnlyMounts: [pkg.root] } };
  const specs = deployed.spec.jobs.filter((j) => names.includes(j.name));
  const executorName = await pickExecutor(options.executor ?? 'auto', config, specs);
  const runsImages = executors[executorName].runsImages;
  const imageless = specs.filter((j) => j.image === null).map((j) => j.name);
  if (runsImages && config.defaultImage === null && imageless.length > 0)
    throw new ConfigError(
      `the ${executorName} executor runs jobs in images, and ${imageless.join(', ')} declare${imageless.length === 1 ? 's' : ''} none: give --default-image IMAGE, or --executor process`,
    );
  const agent = createAgent({
    url: coordinator.url,
    registrationSecret: agentSecret,
    name: 'local',
    capacity: concurrency,
    workDir,
    // The embedded coordinator's caches are on this disk already (.hiveforge/cache).
    localCacheBytes: 0,
    executor: createExecutor(executorName, config),
    secrets,
    passEnv: parsePassEnv(options.passEnv ?? []),
    logLimitBytes,
    onLogLimit: parseOnLogLimit(options.onLogLimit ?? 'truncate'),
    keepWorkspaces: options.keepWorkspaces,
    pullWaitMs: 5_000,
    timeline,
    hostPool,
    configHash: configHash({
      executor: executorName,
      defaultImage: config.defaultImage,
      capacity: concurrency,
      secrets,
      passEnv: options.passEnv ?? [],
      logLimitBytes,
      onLogLimit: options.onLogLimit ?? 'truncate',
    }),
  });
  const agentDone = agent.run();
  mark('triggered, agent started');

  const where = runsImages
    ? `executor ${executorName}${config.defaultImage ? ` (default image ${config.defaultImage})` : ''}`
    : `executor ${executorName}`;
  io.stdout.write(
    `${out.bold(`▸ ${run.pipeline}`)} run ${run._id}: ${names.length} job${names.length === 1 ? '' : 's'}, ${where}, concurrency ${concurrency}\n`,
  );
  if (!runsImages) {
    const imageExecutors = executorNames.filter((n) => executors[n].runsImages).join(' or ');
    for (const job of specs.filter((j) => j.image !== null)) {
      const image = deployed.spec.images.find((i) => i.name === job.image);
      io.stderr.write(
        `${out.yellow('warning:')} job '${job.name}' declares the image ${job.image}${image ? ` (${image.from})` : ''} but runs on the host with the ${executorName} executor: the image is not used (use --executor ${imageExecutors})\n`,
      );
    }
  }
  const executorOf = new Map(
    specs.map((j) => [j.name, runsImages ? `${executorName}:${j.image ?? config.defaultImage ?? '-'}` : executorName]),
  );

  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      io.stderr.write('\ncancelling the run (Ctrl-C again to stop at once)\n');
      client.runs.cancel.mutate({ runId: run._id }).catch(() => {});
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);

  const started = Date.now();
  let followed: Awaited<ReturnType<typeof followRun>>;
  try {
    // On a terminal, log lines scroll above a status block redrawn in place (docs/operations.md);
    // the summary table below replaces the block.
    followed = await followRun(client, run._id, io, {
      style: out,
      live: followsLive(io, out, options.plain),
      waitMs: 5_000,
    });
  } finally {
    process.off('SIGINT', onSigint);
    await agent.stop({ cancel: true });
    await agentDone.catch(() => {});
  }
  mark('followed, agent stopped');
  const final = await client.runs.get.query({ runId: run._id });
  const status = final.run.status;
  io.stdout.write(
    `\n${renderSummary(
      out,
      final.jobs.map((j) => ({
        job: j.name,
        executor: executorOf.get(j.name) ?? executorName,
        status: j.state,
        attempt: j.attempt,
        durationMs: j.startedAt && j.finishedAt ? j.finishedAt - j.startedAt : null,
        fingerprint: j.fingerprint,
      })),
      { verbose: options.verbose },
    )}\n`,
  );
  const artifactsDir = options.artifacts
    ? resolve(options.artifacts)
    : join(workDir, 'artifacts', ...run._id.split('/').map((part) => part.replace(/[^A-Za-z0-9_.@-]+/g, '_')));
  const kept = await keepRunArtifacts({
    url: coordinator.url,
    token,
    runId: run._id,
    artifacts: await client.runs.artifacts.query({ runId: run._id }),
    dir: artifactsDir,
    // The memory store keeps each blob as a file named by its SHA-256: linked, not streamed.
    blobFile: (sha256) => join(store.artifactsDir, sha256),
  });
  mark('artifacts kept');
  if (kept.length) io.stdout.write(`\n${renderKeptArtifacts(kept, artifactsDir, out)}\n`);
  const paint = status === 'succeeded' ? out.green : out.red;
  io.stdout.write(`${paint(`run ${run._id} ${status}`)} in ${formatDuration(followed.endedAt - started)}\n`);
  if (!options.keepWorkspaces) await rm(join(workDir, 'bundles'), { recursive: true, force: true }).catch(() => {});
  mark('done');
  return status === 'succeeded' ? 0 : status === 'cancelled' ? 130 : 1;
}
