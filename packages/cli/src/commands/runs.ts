import { readJobLog } from '@hiveforge/coordinator/client';
import { BadInputError, ConfigError, formatDuration } from '@hiveforge/sdk';
import { withCluster } from '../cluster-client.js';
import { createPrefixer, createStyle, renderSummary } from '../output.js';
import { followToEnd } from '../run-follower.js';
import { staleNotice } from '../stale-notice.js';
import { formatTime, renderTable, toJson } from '../table.js';
import type { CommandIO } from './run.js';

const RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;

const took = (from: number | null, to: number | null) => (from && to ? formatDuration(to - from) : '-');

/** A run's event as shown: a fork's pull request says so (its jobs get no secret). */
const eventOf = (trigger: { event: string; fork?: boolean }) =>
  trigger.fork === true ? `${trigger.event} (fork)` : trigger.event;

/**
 * A run id (`web/42`) and optionally a job of it (`web/42/build`): a run id is its pipeline's
 * name, a slash and its number.
 */
export function parseRunRef(ref: string): { runId: string; job: string | null } {
  const m = /^([^/]+\/\d+)(?:\/(.+))?$/.exec(ref);
  if (!m) throw new BadInputError(`'${ref}' is not a run (PIPELINE/NUMBER, e.g. web/42) or a job (web/42/build)`);
  return { runId: m[1] as string, job: m[2] ?? null };
}

/** `hiveforge runs [PIPELINE]`: the latest runs, newest first. */
export async function runsCommand(
  options: { pipeline?: string; status?: string; limit?: number; json?: boolean },
  io: CommandIO,
): Promise<number> {
  const status = options.status as (typeof RUN_STATUSES)[number] | undefined;
  if (status !== undefined && !RUN_STATUSES.includes(status))
    throw new ConfigError(`--status must be one of ${RUN_STATUSES.join(', ')}`);
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new ConfigError('--limit must be from 1 to 200');
  return withCluster(async ({ client }) => {
    if (options.pipeline !== undefined) await client.pipelines.get.query({ name: options.pipeline });
    const runs = await client.runs.list.query({ pipeline: options.pipeline, status, limit });
    const notice = staleNotice(runs[0]?.stale);
    if (notice) io.stderr.write(`${notice}\n`);
    if (options.json) {
      io.stdout.write(toJson(runs));
      return 0;
    }
    if (runs.length === 0) {
      io.stdout.write('no runs\n');
      return 0;
    }
    const rows = runs.map((r) => [
      r._id,
      r.status,
      eventOf(r.trigger),
      r.trigger.branch ?? '-',
      r.trigger.actor ?? '-',
      formatTime(r.createdAt),
      took(r.createdAt, r.finishedAt),
    ]);
    io.stdout.write(`${renderTable(['RUN', 'STATUS', 'EVENT', 'BRANCH', 'BY', 'CREATED', 'DURATION'], rows)}\n`);
    return 0;
  });
}

/** `hiveforge status RUN`: the run and each of its jobs with state, attempt and duration. */
export async function statusCommand(options: { run: string; json?: boolean }, io: CommandIO): Promise<number> {
  const { runId } = parseRunRef(options.run);
  return withCluster(async ({ client }) => {
    const { run, jobs, stale } = await client.runs.get.query({ runId });
    // Answered from what the coordinator last saw: its store is out.
    const notice = staleNotice(stale);
    if (notice) io.stderr.write(`${notice}\n`);
    if (options.json) {
      io.stdout.write(toJson({ run, jobs: jobs.map(({ spec: _spec, ...job }) => job), ...(stale ? { stale } : {}) }));
      return 0;
    }
    const style = createStyle(io.stdout);
    const inputs = Object.entries(run.trigger.inputs).map(([k, v]) => `${k}=${v}`);
    io.stdout.write(
      `run ${run._id} ${run.status}: ${eventOf(run.trigger)}${run.trigger.branch ? ` on ${run.trigger.branch}` : ''}${inputs.length ? `, inputs ${inputs.join(' ')}` : ''}, version ${run.versionId}, created ${formatTime(run.createdAt)}${run.finishedAt ? `, took ${took(run.createdAt, run.finishedAt)}` : ''}\n\n`,
    );
    const rows = jobs.map((j) => ({
      job: j.name,
      status: j.state,
      attempt: j.attempt,
      durationMs: j.startedAt && j.finishedAt ? j.finishedAt - j.startedAt : null,
    }));
    io.stdout.write(`${renderSummary(style, rows)}\n`);
    for (const j of jobs) if (j.waiting) io.stdout.write(`${style.yellow('waiting:')} ${j.name}: ${j.waiting}\n`);
    return 0;
  });
}

/**
 * `hiveforge logs RUN[/JOB]`: a job's log (or every job's, prefixed), read page by page from
 * `runs.logs`; `-f` follows a running run or job through `runs.watch` until it ends.
 */
export async function logsCommand(
  options: { ref: string; follow?: boolean; json?: boolean; plain?: boolean },
  io: CommandIO,
): Promise<number> {
  const { runId, job } = parseRunRef(options.ref);
  if (options.follow && options.json)
    throw new ConfigError('--json reads a log as it is; it cannot be combined with -f');
  return withCluster(async ({ client }) => {
    const { jobs } = await client.runs.get.query({ runId });
    if (job !== null && !jobs.some((j) => j.name === job))
      throw new BadInputError(`run '${runId}' has no job '${job}' (its jobs: ${jobs.map((j) => j.name).join(', ')})`);
    if (options.follow) return followToEnd(client, runId, io, { plain: options.plain, job: job ?? undefined });
    const names = job === null ? jobs.map((j) => j.name) : [job];
    const prefixer = createPrefixer(createStyle(io.stdout), names, { raw: job !== null });
    const all: { job: string; attempt: number; seq: number; text: string }[] = [];
    for (const name of names) {
      let attempt = 0;
      for await (const chunks of readJobLog(client, { runId, job: name })) {
        for (const chunk of chunks) {
          if (options.json) {
            all.push({ job: name, attempt: chunk.attempt, seq: chunk.seq, text: chunk.text });
            continue;
          }
          if (chunk.attempt !== attempt && attempt !== 0)
            io.stdout.write(`${job === null ? `${prefixer.prefix(name)} ` : ''}── attempt ${chunk.attempt} ──\n`);
          attempt = chunk.attempt;
          for (const line of prefixer.lines(name, chunk.text)) io.stdout.write(`${line}\n`);
        }
      }
      if (!options.json) for (const line of prefixer.rest(name)) io.stdout.write(`${line}\n`);
    }
    if (options.json) io.stdout.write(toJson(all));
    return 0;
  });
}

/** `hiveforge cancel RUN`: cancels a running run: its running jobs are stopped, the rest skipped. */
export async function cancelCommand(options: { run: string }, io: CommandIO): Promise<number> {
  const { runId } = parseRunRef(options.run);
  return withCluster(async ({ client }) => {
    await client.runs.cancel.mutate({ runId });
    io.stdout.write(`cancelled run ${runId}\n`);
    return 0;
  });
}

/**
 * `hiveforge retry RUN[/JOB]`: runs the same version again with the same trigger, as a new run:
 * every job, or one job and the jobs it needs.
 */
export async function retryCommand(
  options: { run: string; follow?: boolean; json?: boolean; plain?: boolean },
  io: CommandIO,
): Promise<number> {
  const { runId, job } = parseRunRef(options.run);
  return withCluster(async ({ client }) => {
    const run = await client.runs.retry.mutate({ runId, ...(job === null ? {} : { job }) });
    if (options.json && !options.follow) {
      io.stdout.write(toJson(run));
      return 0;
    }
    io.stdout.write(`retrying run ${runId}${job === null ? '' : ` job ${job}`} as run ${run._id}\n`);
    if (!options.follow) return 0;
    return followToEnd(client, run._id, io, { plain: options.plain });
  });
}
