import type { JobSpec, PipelineSpec } from '@hiveforge/sdk';

/** One job whose definition changed between two versions: each changed field, before and after. */
export interface JobChange {
  job: string;
  fields: { field: string; before: unknown; after: unknown }[];
}

/** What a deploy changes in the job graph. */
export interface SpecDiff {
  added: string[];
  removed: string[];
  changed: JobChange[];
}

/** The fields of a job that are its options (its place in the graph is `needs`); `source` is where, not what. */
const COMPARED: readonly (keyof JobSpec)[] = [
  'needs',
  'image',
  'labels',
  'env',
  'secrets',
  'timeoutMs',
  'retries',
  'diskBytes',
  'if',
  'concurrency',
  'resources',
  'user',
  'matrix',
];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * The difference between the jobs of two versions of a pipeline: jobs added, removed, and for
 * the others each option that changed (needs, image, labels, env, retries, timeout, …).
 * An image whose description changed under the same name counts as a change of `image`.
 */
export function diffSpecs(before: PipelineSpec | null, after: PipelineSpec): SpecDiff {
  const old = new Map((before?.jobs ?? []).map((j) => [j.name, j]));
  const now = new Map(after.jobs.map((j) => [j.name, j]));
  const imageTag = (spec: PipelineSpec | null, name: string | null) =>
    name === null ? null : (spec?.images.find((i) => i.name === name)?.tag ?? name);
  const changed: JobChange[] = [];
  for (const job of after.jobs) {
    const prev = old.get(job.name);
    if (!prev) continue;
    const fields = COMPARED.filter((f) => !same(prev[f], job[f])).map((f) => ({
      field: f,
      before: prev[f],
      after: job[f],
    }));
    if (!fields.some((f) => f.field === 'image') && imageTag(before, prev.image) !== imageTag(after, job.image))
      fields.push({ field: 'image', before: imageTag(before, prev.image), after: imageTag(after, job.image) });
    if (fields.length) changed.push({ job: job.name, fields });
  }
  return {
    added: after.jobs.filter((j) => !old.has(j.name)).map((j) => j.name),
    removed: (before?.jobs ?? []).filter((j) => !now.has(j.name)).map((j) => j.name),
    changed,
  };
}

const show = (value: unknown): string =>
  value === null || value === undefined
    ? '-'
    : Array.isArray(value)
      ? value.length
        ? value.join(', ')
        : '(none)'
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);

/** The diff as lines: `+ job`, `- job`, `~ job: field before → after; …`. */
export function renderSpecDiff(diff: SpecDiff): string[] {
  return [
    ...diff.added.map((j) => `+ ${j}`),
    ...diff.removed.map((j) => `- ${j}`),
    ...diff.changed.map(
      (c) => `~ ${c.job}: ${c.fields.map((f) => `${f.field} ${show(f.before)} → ${show(f.after)}`).join('; ')}`,
    ),
  ];
}
