import type { DeclaredJob, DeclaredPipeline } from './assemble-spec.js';
import type { JobContext } from './context.js';
import type { ByteSize } from './byte-size.js';
import type { Duration } from './duration.js';
import { SdkUsageError } from './errors.js';
import { createDeclarationCollector } from './declaration-collector.js';
import type { ImageRef } from './image.js';
import type { MatrixDefinition } from './matrix.js';
import { JOB_NAME_PATTERN } from './constants.js';
import type { JobResourceOptions } from './resources.js';
import type { JobCondition, Triggers } from './triggers.js';

/** The values of one matrix instance, typed from the matrix literal. */
export type MatrixValues<M> = M extends MatrixDefinition
  ? { readonly [K in keyof M]: M[K][number] }
  : Record<string, never>;

/**
 * A job body: async code that runs on an agent. `S` is the names of the job's declared secrets.
 * @default S never: a job without `secrets` reads none
 */
export type JobBody<M = undefined, S extends string = never> = (
  ctx: JobContext<MatrixValues<M>, S>,
) => Promise<void> | void;

/**
 * Structural options of a job. They are read statically, so write them as literals. `S` is the
 * `secrets` list as written, which types `ctx.secrets`.
 */
export interface JobOptions<
  M extends MatrixDefinition | undefined = undefined,
  S extends readonly string[] = readonly string[],
> {
  /** Jobs that must succeed first: job references or names. @default [] */
  needs?: readonly (JobRef | string)[];
  /** The image the job runs in. @default the executor's default environment */
  image?: ImageRef;
  /** Labels an agent must have to take the job. @default [] */
  labels?: readonly string[];
  /** Environment variables. @default {} */
  env?: Readonly<Record<string, string | number | boolean>>;
  /** Names of secrets the job may read through `ctx.secrets` (only these). @default [] */
  secrets?: S;
  /** Stop the job after this long. @default '60m' */
  timeout?: Duration;
  /** Extra attempts after a failure. Agent loss is always retried. @default 0 */
  retries?: number;
  /**
   * The workspace quota: the job fails (`HF_DISK_QUOTA`) and its commands are stopped once its
   * workspace grows past it. The agent checks about every second. @default no quota
   * @example disk: '1Gi'
   */
  disk?: ByteSize;
  /** Run one instance per combination. */
  matrix?: M;
  /** Run only on matching branches and events; otherwise the job is skipped. */
  if?: JobCondition;
  /** At most one job of this group runs at a time, across all runs. */
  concurrency?: string;
  /**
   * Limits of the job's container (the `docker` executor): CPUs and memory.
   * @example resources: { cpus: 2, memory: '1Gi' }
   * @default unlimited
   */
  resources?: JobResourceOptions;
  /**
   * The user the job's commands run as: `'root'`, a user name of the image, or `'uid[:gid]'`.
   * @default the agent's own uid:gid, so files the job writes in the workspace stay the agent's
   */
  user?: string;
}

/** A reference to a declared job, usable in `needs`. */
export interface JobRef {
  readonly kind: 'job';
  readonly name: string;
}

/** A job as collected at run time: its options and its body. */
export interface JobDefinition {
  readonly kind: 'job';
  readonly name: string;
  readonly options: JobOptions<MatrixDefinition | undefined>;
  readonly body: JobBody<MatrixDefinition | undefined, string>;
}

/** Options of a pipeline. */
export interface PipelineOptions {
  /** What starts the pipeline. */
  on?: Triggers | readonly Triggers[];
  /** Require every image to be pinned by digest. @default false */
  strictImages?: boolean;
  /** Environment for every job. @default {} */
  env?: Readonly<Record<string, string | number | boolean>>;
}

/** A pipeline: the default export of `hiveforge.ts`. */
export interface Pipeline {
  readonly kind: 'pipeline';
  readonly name: string;
  readonly options: PipelineOptions;
  readonly jobs: readonly JobDefinition[];
}

/**
 * The jobs `job()` declares while a `pipeline()` build function runs. Deliberately one per copy
 * of the SDK module: `pipeline()` and `job()` are free functions (the SDK's API), so `job()`
 * finds the pipeline it belongs to here. Builds are synchronous, so only one is under way at a
 * time, and the collector holds nothing once it returns.
 */
const declarations = createDeclarationCollector<JobDefinition>();

function checkName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !JOB_NAME_PATTERN.test(name)) {
    throw new SdkUsageError(
      `${kind} name ${JSON.stringify(name)} is invalid: use letters, digits, "_", "." and "-", starting with a letter or digit`,
    );
  }
}

/**
 * Declares a pipeline. `build` runs once, synchronously, and declares the jobs.
 * @example
 * export default pipeline('web', { on: { push: { branches: ['main'] } } }, () => {
 *   const build = job('build', async (ctx) => { await ctx.sh`npm run build`; });
 *   job('test', { needs: [build] }, async (ctx) => { await ctx.sh`npm test`; });
 * });
 */
export function pipeline(name: string, build: () => void): Pipeline;
export function pipeline(name: string, options: PipelineOptions, build: () => void): Pipeline;
export function pipeline(name: string, a: PipelineOptions | (() => void), b?: () => void): Pipeline {
  checkName('pipeline', name);
  const [options, build] = typeof a === 'function' ? [{}, a] : [a, b];
  if (typeof build !== 'function')
    throw new SdkUsageError(`pipeline('${name}') needs a function that declares its jobs`);
  if (declarations.current()) throw new SdkUsageError('pipeline() cannot be called inside another pipeline()');
  const { collected: jobs, returned } = declarations.collect(build);
  if (returned instanceof Promise)
    throw new SdkUsageError(`the function given to pipeline('${name}') must declare its jobs synchronously`);
  return { kind: 'pipeline', name, options, jobs };
}

/**
 * Declares a job inside `pipeline()`. The options are structure (read statically); the body is
 * code that runs on an agent. `ctx.matrix` is typed from `matrix`, `ctx.secrets` from `secrets`
 * (reading a secret the job does not declare is a type error).
 * @example job('test', { needs: [build], retries: 1, timeout: '15m' }, async (ctx) => { await ctx.sh`npm test`; });
 * @example job('deploy', { secrets: ['DEPLOY_TOKEN'] }, async (ctx) => { ctx.secrets.DEPLOY_TOKEN; });
 */
export function job(name: string, body: JobBody): JobRef;
export function job<
  const M extends MatrixDefinition | undefined = undefined,
  const S extends readonly string[] = readonly [],
>(name: string, options: JobOptions<M, S>, body: JobBody<M, S[number]>): JobRef;
export function job(
  name: string,
  a: JobOptions<MatrixDefinition | undefined> | JobBody,
  b?: JobBody<MatrixDefinition | undefined, string>,
): JobRef {
  checkName('job', name);
  const collecting = declarations.current();
  if (!collecting) throw new SdkUsageError(`job('${name}') must be called inside the function given to pipeline()`);
  const [options, body] = typeof a === 'function' ? [{}, a] : [a, b];
  if (typeof body !== 'function') throw new SdkUsageError(`job('${name}') needs a body function`);
  collecting.push({ kind: 'job', name, options, body: body as JobBody<MatrixDefinition | undefined, string> });
  return { kind: 'job', name };
}

/** True when `value` is a pipeline returned by {@link pipeline} (also from a bundled copy of the SDK). */
export function isPipeline(value: unknown): value is Pipeline {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Pipeline).kind === 'pipeline' &&
    Array.isArray((value as Pipeline).jobs)
  );
}

/** A pipeline collected at run time as declared data: what `describePipeline` builds its spec from. */
export function declaredPipelineOf(p: Pipeline): DeclaredPipeline {
  const jobs: DeclaredJob[] = p.jobs.map((j) => {
    const o = j.options;
    return {
      name: j.name,
      needs: (o.needs ?? []).map((n) => (typeof n === 'string' ? n : n.name)),
      image: o.image?.spec ?? null,
      labels: o.labels,
      env: o.env,
      secrets: o.secrets,
      timeout: o.timeout,
      retries: o.retries,
      disk: o.disk,
      matrix: o.matrix,
      if: o.if,
      concurrency: o.concurrency,
      resources: o.resources,
      user: o.user,
    };
  });
  return {
    name: p.name,
    on: p.options.on,
    strictImages: p.options.strictImages,
    env: p.options.env,
    jobs,
  };
}
