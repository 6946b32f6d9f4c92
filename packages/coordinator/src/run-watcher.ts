import { BadInputError } from '@hiveforge/sdk';
import type { JobRecord, RunRecord, Store } from './store/types.js';
import { isTerminal } from './store/types.js';

/** One thing that happened in a run, in the order a watcher should show it. */
export type RunEvent =
  | { type: 'log'; job: string; attempt: number; seq: number; text: string }
  | {
      type: 'job';
      job: string;
      state: JobRecord['state'];
      attempt: number;
      exitCode: number | null;
      cause: JobRecord['cause'];
      error: string | null;
      startedAt: number | null;
      finishedAt: number | null;
    }
  | { type: 'run'; status: RunRecord['status']; finishedAt: number | null };

interface Cursor {
  run: string | null;
  jobs: Record<string, string>;
  logs: Record<string, [number, number]>;
}

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decode(cursor: string | undefined): Cursor {
  if (!cursor) return { run: null, jobs: {}, logs: {} };
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Cursor;
    if (typeof c !== 'object' || !c || typeof c.jobs !== 'object' || typeof c.logs !== 'object')
      throw new Error('shape');
    return c;
  } catch {
    throw new BadInputError('the watch cursor is not one this coordinator issued', [
      { path: 'cursor', message: 'malformed' },
    ]);
  }
}

/** One batch of a run's events (see {@link readRunEvents}). */
export interface RunEventBatch {
  events: RunEvent[];
  /** Where the next batch starts: pass it back as the next read's cursor. */
  cursor: string;
  /** The run has ended and every event of it was given. */
  done: boolean;
  /** The batch stopped at its size limit: the next one follows at once. */
  more: boolean;
}

/**
 * The most log text one batch of a run's events carries, in bytes (plus at most one chunk, the
 * one that reaches it): a watcher of a run with huge logs gets them a batch at a time.
 */
export const WATCH_BATCH_BYTES = 1024 * 1024;

/** The most log chunks one batch reads of one job. */
const CHUNKS_PER_JOB = 1_000;

/**
 * What happened in a run since `cursor`, up to {@link WATCH_BATCH_BYTES} of logs: `more` says the
 * batch stopped there and the next one follows at once. Cursors hold positions, not server state,
 * so a watcher can resume on any coordinator. Logs of a job come before its state change, and the
 * run's end after everything. `saw` is told the run and jobs read (see `sawRun`).
 */
export async function readRunEvents(
  store: Store,
  runId: string,
  cursor: string | undefined,
  saw?: (read: { run: RunRecord; jobs: JobRecord[]; changed: boolean }) => void,
): Promise<RunEventBatch | null> {
  const c = decode(cursor);
  const run = await store.getRun(runId);
  if (!run) return null;
  const jobs = await store.listJobs(runId);
  const logEvents: RunEvent[] = [];
  const jobEvents: RunEvent[] = [];
  let budget = WATCH_BATCH_BYTES;
  let more = false;
  for (const job of jobs) {
    const key = `${job.state}:${job.attempt}`;
    // New logs can only come from a job that is running, or that changed since the cursor
    // (an agent ships a job's last logs before it completes). A job finished before the cursor
    // has nothing new: skipping it keeps a watch of a large run from reading every job.
    const changed = c.jobs[job.name] !== key;
    const active = job.state === 'leased' || job.state === 'running';
    const mayHaveLogs =
      (active || changed) && (job.attempt > 1 || !['waiting', 'queued', 'skipped'].includes(job.state));
    if (mayHaveLogs) {
      if (budget <= 0) {
        // Its logs and its state change wait for the next batch, in that order.
        more = true;
        continue;
      }
      const after = c.logs[job.name];
      const chunks = await store.readLogChunks(job._id, after ? { attempt: after[0], seq: after[1] } : undefined, {
        chunks: CHUNKS_PER_JOB,
        bytes: budget,
      });
      for (const chunk of chunks) {
        logEvents.push({ type: 'log', job: job.name, attempt: chunk.attempt, seq: chunk.seq, text: chunk.text });
        budget -= Buffer.byteLength(chunk.text);
      }
      const last = chunks.at(-1);
      if (last) c.logs[job.name] = [last.attempt, last.seq];
      if (budget <= 0 || chunks.length === CHUNKS_PER_JOB) {
        more = true;
        continue;
      }
    }
    if (changed) {
      c.jobs[job.name] = key;
      jobEvents.push({
        type: 'job',
        job: job.name,
        state: job.state,
        attempt: job.attempt,
        exitCode: job.exitCode,
        cause: job.cause,
        error: job.error,
        startedAt: job.startedAt,
        finishedAt: job.finishedAt,
      });
    }
  }
  const events = [...logEvents, ...jobEvents];
  const runChanged = c.run !== run.status;
  const done = !more && run.status !== 'running' && jobs.every((j) => isTerminal(j.state));
  if (!more) {
    if (c.run !== run.status && run.status !== 'running') {
      events.push({ type: 'run', status: run.status, finishedAt: run.finishedAt });
    }
    c.run = run.status;
  }
  // What was read, for the read cache: it changed since the cursor, or the cursor is new.
  saw?.({ run, jobs, changed: cursor === undefined || jobEvents.length > 0 || runChanged });
  return { events, cursor: encode(c), done, more };
}
