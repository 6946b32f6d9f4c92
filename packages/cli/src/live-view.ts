import { formatDuration } from '@hiveforge/sdk';
import type { Style } from './output.js';

/** One job as the live view shows it. */
export interface LiveJob {
  name: string;
  /** The job's state as the coordinator reports it (`queued`, `running`, `succeeded`, ...). */
  state: string;
  startedAt: number | null;
  finishedAt: number | null;
  /** Why a queued job waits (`waiting: no agent has labels [gpu]`), shown after its state. @default null */
  note?: string | null;
}

/** What {@link renderLiveView} draws: the jobs, the time, and the spinner's frame. */
export interface LiveViewState {
  jobs: readonly LiveJob[];
  now: number;
  /** Advances once per redraw; picks the spinner's glyph. */
  frame: number;
  /** The terminal's width: longer lines are cut, so the block's height is its line count. */
  columns?: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

const MARK: Record<string, string> = {
  queued: '·',
  succeeded: '✓',
  failed: '✗',
  timed_out: '⏱',
  cancelled: '⊘',
  skipped: '↷',
};

const paint = (style: Style, state: string, text: string) =>
  state === 'succeeded'
    ? style.green(text)
    : state === 'failed' || state === 'timed_out'
      ? style.red(text)
      : state === 'skipped' || state === 'cancelled'
        ? style.yellow(text)
        : state === 'queued'
          ? style.dim(text)
          : text;

/**
 * The status block: one line per job with a mark (a spinner while it runs), its name, its
 * state and how long it has run (so far, while running). Pure: the same state draws the same
 * lines.
 */
export function renderLiveView(style: Style, state: LiveViewState): string[] {
  const width = Math.min(32, Math.max(4, ...state.jobs.map((j) => j.name.length)));
  return state.jobs.map((job) => {
    const active = job.state === 'running' || job.state === 'leased';
    const mark = active ? (SPINNER[state.frame % SPINNER.length] as string) : (MARK[job.state] ?? '·');
    // A leased job has an agent but has not started: it is starting.
    const label = job.state === 'leased' ? 'starting' : job.state;
    const took =
      job.startedAt === null ? '' : formatDuration(Math.max(0, (job.finishedAt ?? state.now) - job.startedAt));
    const note = job.note ? `  ${job.note}` : '';
    const line = `${mark} ${job.name.padEnd(width).slice(0, width)}  ${label.padEnd(9)}  ${took}${note}`.trimEnd();
    // Cut before painting, so no escape sequence is cut in half.
    const cut = state.columns && state.columns > 1 ? line.slice(0, state.columns - 1) : line;
    return paint(style, job.state, cut);
  });
}

/** Moves the cursor to the first line of a block `height` lines tall that ends above it, at column 0. */
const up = (height: number) => (height > 0 ? `\x1b[${height}A\r` : '');

/**
 * The bytes that replace a drawn block of `previousHeight` lines (the cursor sits on the line
 * below it): log lines first, where the block was, then the new block under them, each line
 * cleared before it is written and whatever is left of the old block erased.
 */
export function redrawSequence(previousHeight: number, above: readonly string[], block: readonly string[]): string {
  const lines = [...above, ...block].map((l) => `\x1b[2K${l}\n`).join('');
  return `${up(previousHeight)}${lines}\x1b[J`;
}

/** The bytes that erase a drawn block of `height` lines, leaving the cursor where it began. */
export const eraseSequence = (height: number): string => `${up(height)}\x1b[J`;

/** Options of {@link createLiveViewWriter}. */
export interface LiveViewWriterOptions {
  stream: { write(text: string): unknown; columns?: number };
  style: Style;
  jobs: readonly LiveJob[];
  /** The least time between two redraws. @default 100 */
  intervalMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Draws the live view on a terminal: log lines scroll above a status block redrawn in place. */
export interface LiveViewWriter {
  /** Prints lines above the block (at the next redraw). */
  log(lines: readonly string[]): void;
  /** Updates a job's line; a note given before stays until one is given again (null clears it). */
  update(job: LiveJob): void;
  /** Prints what is pending and erases the block: the terminal is left as plain output. */
  stop(): void;
}

/**
 * Creates the writer. It redraws on a timer, at most once per `intervalMs`, and only when a log
 * line or a job's state is pending or a job is running (its spinner and time move).
 */
export function createLiveViewWriter(options: LiveViewWriterOptions): LiveViewWriter {
  const now = options.now ?? Date.now;
  const jobs = options.jobs.map((j) => ({ ...j }));
  const pending: string[] = [];
  let height = 0;
  let frame = 0;
  let dirty = true;
  const draw = () => {
    const block = renderLiveView(options.style, { jobs, now: now(), frame: frame++, columns: options.stream.columns });
    options.stream.write(redrawSequence(height, pending.splice(0), block));
    height = block.length;
    dirty = false;
  };
  const timer = setInterval(() => {
    if (dirty || jobs.some((j) => j.state === 'running' || j.state === 'leased')) draw();
  }, options.intervalMs ?? 100);
  timer.unref();
  return {
    log(lines) {
      if (lines.length === 0) return;
      pending.push(...lines);
      dirty = true;
    },
    update(job) {
      const at = jobs.findIndex((j) => j.name === job.name);
      if (at < 0) jobs.push({ ...job });
      else jobs[at] = { ...job, note: job.note === undefined ? jobs[at]?.note : job.note };
      dirty = true;
    },
    stop() {
      clearInterval(timer);
      const rest = pending.splice(0).map((l) => `\x1b[2K${l}\n`);
      options.stream.write(`${eraseSequence(height)}${rest.join('')}`);
      height = 0;
    },
  };
}
