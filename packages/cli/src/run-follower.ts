import type { RunEvent } from '@hiveforge/coordinator';
import type { HiveForgeClient } from '@hiveforge/coordinator/client';
import { formatDuration } from '@hiveforge/sdk';
import type { CommandIO } from './commands/run.js';
import { createPrefixer, createStyle } from './output.js';

/** Options of {@link followRun}. */
export interface FollowRunOptions {
  /** Only this job's log and state. @default every job */
  job?: string;
  /** Print the lines without the `job |` prefix (one job's log). @default false */
  raw?: boolean;
  /** How long one `runs.watch` call waits for news. @default 10_000 */
  waitMs?: number;
}

/**
 * Follows a run on a cluster through `runs.watch` (the long-poll any coordinator serves, resumed
 * by cursor) from its start: prints each job's log lines prefixed with the job's name and each
 * job's end, until the run is done. Resolves with the run's status.
 */
export async function followRun(
  client: HiveForgeClient,
  runId: string,
  io: CommandIO,
  options: FollowRunOptions = {},
): Promise<string> {
  const style = createStyle(io.stdout);
  const { jobs } = await client.runs.get.query({ runId });
  const names = jobs.map((j) => j.name).filter((n) => options.job === undefined || n === options.job);
  const prefixer = createPrefixer(style, names);
  const write = (line: string) => io.stdout.write(`${line}\n`);
  // A job no agent can take would otherwise wait without a word.
  for (const j of jobs)
    if (j.waiting && names.includes(j.name)) write(`${prefixer.prefix(j.name)} queued: ${j.waiting}`);
  let cursor: string | undefined;
  let status = 'running';
  for (;;) {
    const batch = await client.runs.watch.query({ runId, cursor, waitMs: options.waitMs ?? 10_000 });
    cursor = batch.cursor;
    for (const event of batch.events as RunEvent[]) {
      if (event.type === 'run') {
        status = event.status;
        continue;
      }
      if (options.job !== undefined && event.job !== options.job) continue;
      if (event.type === 'log') {
        if (options.raw) io.stdout.write(event.text);
        else for (const line of prefixer.lines(event.job, event.text)) write(line);
      } else if (['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'].includes(event.state)) {
        if (options.raw) continue;
        for (const line of prefixer.rest(event.job)) write(line);
        const took =
          event.startedAt && event.finishedAt ? ` in ${formatDuration(event.finishedAt - event.startedAt)}` : '';
        write(`${prefixer.prefix(event.job)} ${event.state}${took} (attempt ${event.attempt})`);
      }
    }
    if (batch.done) break;
  }
  if (status === 'running') status = (await client.runs.get.query({ runId })).run.status;
  return status;
}

/** The exit code of a followed run: 0 when it succeeded, 1 when it failed or was cancelled. */
export const exitCodeOfRun = (status: string): number => (status === 'succeeded' ? 0 : 1);
