import type { RunEvent } from '@hiveforge/coordinator';
import type { HiveForgeClient } from '@hiveforge/coordinator/client';
import { formatDuration } from '@hiveforge/sdk';
import type { CommandIO } from './command-io.js';
import { createLiveViewWriter } from './live-view.js';
import { type Style, createPrefixer, createStyle, renderSummary } from './output.js';
import { followStaleNotice } from './stale-notice.js';

/** Options of {@link followRun}. */
export interface FollowRunOptions {
  /** How lines are colored. */
  style: Style;
  /**
   * Draw the live status block (one line per job, redrawn in place) under the log lines: for a
   * terminal. Plain prefixed lines otherwise. @default false
   */
  live?: boolean;
  /** Only this job's log and state. @default every job */
  job?: string;
  /**
   * The log lines without the `job |` prefix (one job's log); the notices about the job (its
   * end, a retry, why it waits) go to stderr then, so stdout is the log alone. @default false
   */
  raw?: boolean;
  /** How long one `runs.watch` call waits for news. @default 10_000 */
  waitMs?: number;
  /** Stops following (the run goes on): {@link followRun} resolves with the status it saw last. */
  signal?: AbortSignal;
}

/** How following a run ended. */
export interface FollowedRun {
  /** The run's status; `running` when following was stopped by the signal before its end. */
  status: string;
  /** When the end was seen (`Date.now()`). */
  endedAt: number;
  /** The state of each followed job, as last seen. */
  jobs: ReadonlyMap<string, string>;
}

const STATUS_MARK: Record<string, (s: Style) => string> = {
  succeeded: (s) => s.green('✓'),
  failed: (s) => s.red('✗'),
  timed_out: (s) => s.red('⏱'),
  cancelled: (s) => s.yellow('⊘'),
  skipped: (s) => s.yellow('↷'),
};

/** The least time between two reads of why queued jobs wait, while a run's events keep coming. */
const WAITING_CHECK_MS = 2_000;

type JobEvent = Extract<RunEvent, { type: 'job' }>;

/** Why an attempt failed, for the retry notice. */
const failureOf = (event: JobEvent) =>
  event.cause === 'agent_lost'
    ? 'its agent was lost'
    : event.exitCode !== null
      ? `exit ${event.exitCode}`
      : (event.cause ?? 'failed');

/** Why a job was skipped, after its end line. */
const skipReason = (event: JobEvent) =>
  event.state !== 'skipped'
    ? ''
    : event.cause === 'condition'
      ? ' (condition not met)'
      : ' (a job it needs did not succeed)';

/**
 * Follows a run through `runs.watch` (the long-poll any coordinator serves, resumed by cursor)
 * from its start to its end; `hiveforge run`, `trigger --follow`, `retry --follow` and `logs -f`
 * all follow this way. Prints each job's log lines prefixed with its name (groups folded), a
 * line when a job ends or is retried, and why a queued job waits when no agent can take it
 * (`waiting: no agent has labels [gpu]`), for jobs queued at the start and for jobs that become
 * queued later. With `live`, a status block redrawn in place sits under the lines.
 */
export async function followRun(
  client: HiveForgeClient,
  runId: string,
  io: CommandIO,
  options: FollowRunOptions,
): Promise<FollowedRun> {
  const { style, signal } = options;
  const { jobs } = await client.runs.get.query({ runId }, { signal });
  const followed = jobs.filter((j) => options.job === undefined || j.name === options.job);
  const names = followed.map((j) => j.name);
  const prefixer = createPrefixer(style, names, { raw: options.raw });
  const view = options.live
    ? createLiveViewWriter({
        stream: io.stdout,
        style,
        jobs: followed.map((j) => ({ name: j.name, state: j.state, startedAt: j.startedAt, finishedAt: j.finishedAt })),
      })
    : null;
  const print = (lines: readonly string[]) => {
    if (view) view.log(lines);
    else for (const line of lines) io.stdout.write(`${line}\n`);
  };
  // Of one job's log, stdout is the log alone: what is said about the job goes to stderr.
  const notice = (line: string) => {
    if (options.raw && !view) io.stderr.write(`${line}\n`);
    else print([line]);
  };
  const seen = new Map(followed.map((j) => [j.name, { state: j.state as string, attempt: j.attempt }]));
  /** The queued attempts whose waiting reason was told (`job#attempt`). */
  const told = new Set<string>();
  // A job no agent can take would otherwise wait without a word.
  const tell = (current: readonly { name: string; state: string; attempt: number; waiting: string | null }[]) => {
    for (const j of current) {
      const key = `${j.name}#${j.attempt}`;
      if (!seen.has(j.name) || j.state !== 'queued' || !j.waiting || told.has(key)) continue;
      // Told once per attempt: a retried job that waits again says so again.
      told.add(key);
      view?.update({ name: j.name, state: 'queued', startedAt: null, finishedAt: null, note: `waiting: ${j.waiting}` });
      notice(`${style.yellow('…')} ${prefixer.prefix(j.name)} waiting: ${j.waiting}`);
    }
  };
  const untold = () => [...seen].some(([name, s]) => s.state === 'queued' && !told.has(`${name}#${s.attempt}`));

  let cursor: string | undefined;
  let status = 'running';
  /** Since when the store is out, as the last batch said (once told); null while it answers. */
  let storeOutSince: number | null = null;
  // A job queued at the start is checked WAITING_CHECK_MS later, as one queued later is: an
  // agent that is registering (the embedded one of `hiveforge run`) is not reported missing.
  let checkedAt = Date.now();
  /** A job became queued since the last read of why jobs wait. */
  let queuedSinceCheck = untold();
  try {
    for (;;) {
      // A job waiting to be checked shortens the wait to the check's time.
      const waitMs = Math.min(
        options.waitMs ?? 10_000,
        queuedSinceCheck && untold()
          ? Math.max(0, checkedAt + WAITING_CHECK_MS - Date.now())
          : Number.POSITIVE_INFINITY,
      );
      const batch = await client.runs.watch.query({ runId, cursor, waitMs }, { signal });
      cursor = batch.cursor;
      // The coordinator's store is out: no news until it is back (said once per outage).
      if (batch.stale && batch.stale.since !== storeOutSince)
        notice(`${style.yellow('!')} ${followStaleNotice(batch.stale)}`);
      storeOutSince = batch.stale?.since ?? null;
      for (const event of batch.events as RunEvent[]) {
        if (event.type === 'run') {
          status = event.status;
          continue;
        }
        const before = seen.get(event.job);
        if (!before) continue;
        if (event.type === 'log') {
          print(prefixer.lines(event.job, event.text));
          continue;
        }
        seen.set(event.job, { state: event.state, attempt: event.attempt });
        if (event.state === 'queued' && (before.state !== 'queued' || before.attempt !== event.attempt))
          queuedSinceCheck = true;
        view?.update({
          name: event.job,
          state: event.state,
          startedAt: event.startedAt,
          finishedAt: event.finishedAt,
          // A job that left the queue no longer waits; one still queued keeps its reason.
          note: event.state === 'queued' ? undefined : null,
        });
        if (event.attempt > before.attempt)
          notice(
            `${style.yellow('↻')} ${prefixer.prefix(event.job)} attempt ${event.attempt - 1} failed (${failureOf(event)}); retrying as attempt ${event.attempt}`,
          );
        const mark = STATUS_MARK[event.state];
        if (mark) {
          print(prefixer.rest(event.job));
          const took =
            event.startedAt && event.finishedAt ? ` in ${formatDuration(event.finishedAt - event.startedAt)}` : '';
          const attempt = event.attempt > 1 ? ` (attempt ${event.attempt})` : '';
          notice(`${mark(style)} ${prefixer.prefix(event.job)} ${event.state}${took}${skipReason(event)}${attempt}`);
        }
      }
      if (batch.done) break;
      // A job that became queued, or one still queued on a quiet wait, may be one no agent can
      // take (none has its labels): read why. Nothing is read while no job waits in the queue,
      // and at most once per WAITING_CHECK_MS while events keep coming.
      const quiet = batch.events.length === 0;
      if (untold() && (quiet || (queuedSinceCheck && Date.now() - checkedAt >= WAITING_CHECK_MS))) {
        checkedAt = Date.now();
        queuedSinceCheck = false;
        tell((await client.runs.get.query({ runId }, { signal })).jobs);
      }
    }
  } catch (error) {
    // Stopped by the signal: the run goes on.
    if (!signal?.aborted) throw error;
  } finally {
    view?.stop();
  }
  const endedAt = Date.now();
  if (status === 'running' && !signal?.aborted) status = (await client.runs.get.query({ runId })).run.status;
  return { status, endedAt, jobs: new Map([...seen].map(([name, s]) => [name, s.state])) };
}

/**
 * Prints how a followed cluster run ended: the table of its jobs (state, attempt, duration) and
 * `run ID STATUS`.
 */
export async function printRunEnd(
  client: HiveForgeClient,
  runId: string,
  io: CommandIO,
  style: Style,
): Promise<string> {
  const { run, jobs } = await client.runs.get.query({ runId });
  const rows = jobs.map((j) => ({
    job: j.name,
    status: j.state,
    attempt: j.attempt,
    durationMs: j.startedAt && j.finishedAt ? j.finishedAt - j.startedAt : null,
  }));
  const paint = run.status === 'succeeded' ? style.green : style.red;
  const took = run.finishedAt ? ` in ${formatDuration(run.finishedAt - run.createdAt)}` : '';
  io.stdout.write(`\n${renderSummary(style, rows)}\n${paint(`run ${run._id} ${run.status}`)}${took}\n`);
  return run.status;
}

/**
 * Stops a cluster follow on Ctrl-C: the run goes on. Dispose it when the follow ends.
 * @example
 * ```ts
 * using interrupt = followInterrupt();
 * const followed = await followRun(client, runId, io, { style, signal: interrupt.signal });
 * ```
 */
export function followInterrupt(): Disposable & { signal: AbortSignal } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, [Symbol.dispose]: () => process.off('SIGINT', onSigint) };
}

/** Options of {@link followToEnd}. */
export interface FollowToEndOptions {
  /** Prefixed lines only, without the live block on a terminal. @default false */
  plain?: boolean;
  /** Follow only this job's log, unprefixed; the exit code is the job's. @default the whole run */
  job?: string;
}

/**
 * Follows a cluster run to its end (the live block on a terminal), then prints its jobs' table
 * and status (not for one job's log); resolves with the exit code: 0 when the run (or the job)
 * succeeded, 1 otherwise. Ctrl-C stops following, not the run: exit code 130.
 */
export async function followToEnd(
  client: HiveForgeClient,
  runId: string,
  io: CommandIO,
  options: FollowToEndOptions = {},
): Promise<number> {
  const style = createStyle(io.stdout);
  using interrupt = followInterrupt();
  const followed = await followRun(client, runId, io, {
    style,
    live: followsLive(io, style, options.plain),
    signal: interrupt.signal,
    ...(options.job === undefined ? {} : { job: options.job, raw: true }),
  });
  if (interrupt.signal.aborted) {
    io.stderr.write(`stopped following run ${runId}; it goes on (hiveforge cancel ${runId} stops it)\n`);
    return 130;
  }
  if (options.job !== undefined) return exitCodeOfRun(followed.jobs.get(options.job) ?? followed.status);
  return exitCodeOfRun(await printRunEnd(client, runId, io, style));
}

/** Whether a follow draws the live block: stdout is a terminal with color on, and `--plain` was not given. */
export const followsLive = (io: CommandIO, style: Style, plain: boolean | undefined): boolean =>
  plain !== true && io.stdout.isTTY === true && style.enabled;

/** The exit code of a followed run: 0 when it succeeded, 1 when it failed or was cancelled. */
export const exitCodeOfRun = (status: string): number => (status === 'succeeded' ? 0 : 1);
