// Without zod (the schemas are in spec.ts): the job host imports this through
// `@hiveforge/sdk/runtime` to check a bundle against its stored spec, and loading zod would be
// most of a job host's start (bench/executor.mjs).
import { type ByteSize, parseByteSize } from './byte-size.js';
import { type Duration, parseDuration } from './duration.js';
import { SdkUsageError } from './errors.js';
import { type JobResourceOptions, checkCpus, parseMemory } from './resources.js';
import { type MatrixDefinition, expandMatrix, instanceName } from './matrix.js';
import { API_VERSION } from './constants.js';
import type { ImageSpec, JobSpec, PipelineSpec, ResourcesSpec, SourceLocationSpec } from './spec.js';
import { type JobCondition, type Triggers, resolveCondition, resolveTriggers } from './triggers.js';

/** The default job timeout: one hour. */
export const DEFAULT_JOB_TIMEOUT_MS = 3_600_000;

/** A job as declared, with `needs` already turned into declared names. */
export interface DeclaredJob {
  name: string;
  needs?: readonly string[];
  image?: ImageSpec | null;
  labels?: readonly string[];
  env?: Readonly<Record<string, string | number | boolean>>;
  secrets?: readonly string[];
  timeout?: Duration;
  retries?: number;
  disk?: ByteSize;
  matrix?: MatrixDefinition;
  if?: JobCondition;
  concurrency?: string;
  resources?: JobResourceOptions;
  user?: string;
  source?: SourceLocationSpec | null;
}

/** A pipeline as declared: the structural data of `pipeline()` and its `job()`s. */
export interface DeclaredPipeline {
  name: string;
  on?: Triggers | readonly Triggers[];
  strictImages?: boolean;
  env?: Readonly<Record<string, string | number | boolean>>;
  jobs: readonly DeclaredJob[];
  source?: SourceLocationSpec | null;
}

const stringify = (env: Readonly<Record<string, string | number | boolean>> | undefined) =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)]));

/**
 * The spec of a job's `resources`: memory in bytes. The analyzer reports bad values with their
 * position before this runs; here (the run-time collector) they are a usage error.
 */
function resolveResources(job: string, resources: JobResourceOptions | undefined): ResourcesSpec | null {
  if (!resources || (resources.cpus === undefined && resources.memory === undefined)) return null;
  let memoryBytes: number | null = null;
  if (resources.memory !== undefined) {
    const memory = parseMemory(resources.memory);
    if ('error' in memory) throw new SdkUsageError(`job '${job}' › resources › memory: ${memory.error}`);
    memoryBytes = memory.bytes;
  }
  const cpuError = resources.cpus === undefined ? null : checkCpus(resources.cpus);
  if (cpuError) throw new SdkUsageError(`job '${job}' › resources › ${cpuError}`);
  return { cpus: resources.cpus ?? null, memoryBytes };
}

/**
 * Expands matrices and resolves defaults, producing a PipelineSpec that is not validated yet
 * (`buildPipelineSpec` validates it). The analyzer and the run-time collector go through this one
 * function, so their specs agree.
 */
export function assemblePipelineSpec(declared: DeclaredPipeline): PipelineSpec {
  const instancesOf = new Map<string, string[]>();
  for (const job of declared.jobs) {
    const combos = job.matrix ? expandMatrix(job.matrix) : [null];
    const names = combos.map((c) => instanceName(job.name, c));
    instancesOf.set(job.name, [...(instancesOf.get(job.name) ?? []), ...names]);
  }
  const images = new Map<string, ImageSpec>();
  const jobs: JobSpec[] = [];
  for (const job of declared.jobs) {
    if (job.image) images.set(job.image.name, job.image);
    const needs = [...new Set((job.needs ?? []).flatMap((n) => instancesOf.get(n) ?? [n]))];
    const combos = job.matrix ? expandMatrix(job.matrix) : [null];
    for (const combo of combos) {
      jobs.push({
        name: instanceName(job.name, combo),
        job: job.name,
        matrix: combo,
        needs,
        image: job.image?.name ?? null,
        labels: [...(job.labels ?? [])],
        env: stringify(job.env),
        secrets: [...(job.secrets ?? [])],
        timeoutMs: job.timeout === undefined ? DEFAULT_JOB_TIMEOUT_MS : parseDuration(job.timeout),
        retries: job.retries ?? 0,
        diskBytes: job.disk === undefined ? null : parseByteSize(job.disk),
        if: resolveCondition(job.if),
        concurrency: job.concurrency ?? null,
        resources: resolveResources(job.name, job.resources),
        user: job.user ?? null,
        source: job.source ?? null,
      });
    }
  }
  return {
    apiVersion: API_VERSION,
    name: declared.name,
    triggers: resolveTriggers(declared.on),
    strictImages: declared.strictImages ?? false,
    env: stringify(declared.env),
    images: [...images.values()],
    jobs,
    source: declared.source ?? null,
  };
}

/** The parts of a spec that must agree between the analyzer and the bundle at run time. */
export function structuralDigest(spec: PipelineSpec): string[] {
  return spec.jobs.map(
    (j) =>
      `${j.name} needs=[${j.needs.join(',')}] image=${j.image ?? '-'} timeoutMs=${j.timeoutMs} retries=${j.retries}`,
  );
}
