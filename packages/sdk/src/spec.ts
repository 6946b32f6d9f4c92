import { z } from 'zod';
import { SpecInvalidError } from './errors.js';
import { JOB_USER_PATTERN, MAX_CPUS, MIN_MEMORY_BYTES } from './resources.js';

export { API_VERSION, JOB_NAME_PATTERN, TriggerEvent } from './constants.js';
import { API_VERSION, JOB_NAME_PATTERN } from './constants.js';

export const SourceLocationSchema = z.object({
  file: z.string(),
  line: z.number().int().positive(),
  column: z.number().int().positive(),
});

export const ScalarSchema = z.union([z.string(), z.number(), z.boolean()]);

export const ImageSpecSchema = z.object({
  name: z.string().regex(JOB_NAME_PATTERN),
  from: z.string().min(1),
  steps: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  workdir: z.string().nullable(),
  /** The content-addressed tag: the same description is the same tag on every agent. */
  tag: z.string(),
  /** True when `from` names its base by `@sha256:` digest. */
  pinned: z.boolean(),
});

export const InputSpecSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('string'),
    description: z.string().nullable(),
    required: z.boolean(),
    default: z.string().nullable(),
  }),
  z.object({
    type: z.literal('number'),
    description: z.string().nullable(),
    required: z.boolean(),
    default: z.number().nullable(),
  }),
  z.object({
    type: z.literal('boolean'),
    description: z.string().nullable(),
    required: z.boolean(),
    default: z.boolean().nullable(),
  }),
  z.object({
    type: z.literal('choice'),
    description: z.string().nullable(),
    required: z.boolean(),
    options: z.array(z.string()).min(1),
    default: z.string().nullable(),
  }),
]);

export const TriggersSpecSchema = z.object({
  push: z.object({ branches: z.array(z.string()), tags: z.array(z.string()), paths: z.array(z.string()) }).nullable(),
  pullRequest: z.object({ branches: z.array(z.string()), paths: z.array(z.string()) }).nullable(),
  schedule: z.array(z.object({ cron: z.string() })),
  manual: z.object({ inputs: z.record(z.string(), InputSpecSchema) }).nullable(),
});

export const JobConditionSpecSchema = z.object({
  /** Branch globs (`*` within a segment, `**` across); empty means any branch. */
  branches: z.array(z.string()),
  /** Events; empty means any event. */
  events: z.array(z.enum(['push', 'pullRequest', 'schedule', 'manual', 'local'])),
});

export const ResourcesSpecSchema = z.object({
  cpus: z.number().positive().max(MAX_CPUS).nullable(),
  memoryBytes: z.number().int().min(MIN_MEMORY_BYTES).nullable(),
});

export const JobSpecSchema = z.object({
  /** The instance name: the declared name, plus `[key=value,…]` for a matrix instance. */
  name: z.string().min(1),
  /** The name the job was declared with. */
  job: z.string().regex(JOB_NAME_PATTERN),
  matrix: z.record(z.string(), ScalarSchema).nullable(),
  /** Instance names this job waits for. */
  needs: z.array(z.string()),
  /** The name of an entry of `images`, or null for the executor's default environment. */
  image: z.string().nullable(),
  labels: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  secrets: z.array(z.string()),
  timeoutMs: z.number().int().positive(),
  retries: z.number().int().min(0).max(10),
  /** The workspace quota in bytes: the job fails once its workspace grows past it. Null: none. */
  diskBytes: z.number().int().positive().nullable().default(null),
  if: JobConditionSpecSchema.nullable(),
  concurrency: z.string().nullable(),
  /** Limits of the job's container; null (and each null field) is unlimited. */
  resources: ResourcesSpecSchema.nullable().default(null),
  /** The user its commands run as (`root`, a name, `uid[:gid]`); null for the executor's default. */
  user: z.string().regex(JOB_USER_PATTERN).nullable().default(null),
  source: SourceLocationSchema.nullable(),
});

export const PipelineSpecSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  name: z.string().regex(JOB_NAME_PATTERN),
  triggers: TriggersSpecSchema,
  strictImages: z.boolean(),
  env: z.record(z.string(), z.string()),
  images: z.array(ImageSpecSchema),
  jobs: z.array(JobSpecSchema).min(1),
  source: SourceLocationSchema.nullable(),
});

export type SourceLocationSpec = z.infer<typeof SourceLocationSchema>;
export type ImageSpec = z.infer<typeof ImageSpecSchema>;
export type InputSpec = z.infer<typeof InputSpecSchema>;
export type TriggersSpec = z.infer<typeof TriggersSpecSchema>;
export type JobConditionSpec = z.infer<typeof JobConditionSpecSchema>;
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type ResourcesSpec = z.infer<typeof ResourcesSpecSchema>;
/** The static description of a pipeline: what the analyzer produces and everything else reads. */
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;

/** Renders zod issues as `path: message` pairs. */
export function formatIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join('.') : '(root)',
    message: issue.message,
  }));
}

/**
 * Validates unknown data as a PipelineSpec.
 * @throws SpecInvalidError listing every issue by path.
 */
export function parsePipelineSpec(data: unknown): PipelineSpec {
  const result = PipelineSpecSchema.safeParse(data);
  if (result.success) return result.data;
  const issues = formatIssues(result.error);
  throw new SpecInvalidError(
    `invalid pipeline spec: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues,
  );
}
