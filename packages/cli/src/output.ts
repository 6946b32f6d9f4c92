import { formatDuration } from '@hiveforge/sdk';
import { createLogGroupFolder } from './log-groups.js';

/** Terminal styling that turns itself off when output is not a terminal (or NO_COLOR is set). */
export interface Style {
  readonly enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  color(index: number, s: string): string;
}

const PALETTE = [36, 35, 34, 33, 32, 96, 95, 94, 93, 92];

/** Creates a style for a stream. `FORCE_COLOR` forces it on, `NO_COLOR` off. */
export function createStyle(stream: NodeJS.WriteStream, override?: boolean): Style {
  const enabled =
    override ??
    (process.env.FORCE_COLOR ? process.env.FORCE_COLOR !== '0' : !process.env.NO_COLOR && stream.isTTY === true);
  const wrap = (code: number, s: string) => (enabled ? `\x1b[${code}m${s}\x1b[0m` : s);
  return {
    enabled,
    bold: (s) => wrap(1, s),
    dim: (s) => wrap(2, s),
    red: (s) => wrap(31, s),
    green: (s) => wrap(32, s),
    yellow: (s) => wrap(33, s),
    color: (i, s) => wrap(PALETTE[i % PALETTE.length] as number, s),
  };
}

/** Options of {@link createPrefixer}. */
export interface PrefixerOptions {
  /** Lines without the `job |` prefix: one job's log as it is, its groups still folded. @default false */
  raw?: boolean;
}

/**
 * Prefixes every line of a job's output with the job's name, padded and colored per job, and
 * folds its log groups into titled, indented sections (see `log-groups.ts`).
 */
export function createPrefixer(style: Style, names: readonly string[], options: PrefixerOptions = {}) {
  const width = Math.min(32, Math.max(...names.map((n) => n.length), 4));
  const index = new Map(names.map((n, i) => [n, i]));
  const partial = new Map<string, string>();
  const groups = createLogGroupFolder();
  const show = (job: string, line: string): string[] => {
    const text = groups.fold(job, line);
    return text === null ? [] : [options.raw ? text : `${prefix(job)} ${text}`];
  };
  const prefix = (job: string) => style.color(index.get(job) ?? 0, `${job.padEnd(width).slice(0, width)} |`);
  return {
    prefix,
    /** Lines of `text` ready to print; a trailing partial line is kept until it completes. */
    lines(job: string, text: string): string[] {
      const all = (partial.get(job) ?? '') + text;
      const parts = all.split('\n');
      partial.set(job, parts.pop() ?? '');
      return parts.flatMap((line) => show(job, line));
    },
    /** Whatever is left of each job's last line. */
    rest(job: string): string[] {
      const left = partial.get(job);
      partial.delete(job);
      return left ? show(job, left) : [];
    },
  };
}

/** Where a row's attempt ran, as its fingerprint records it (see `AttemptFingerprint`). */
export interface SummaryFingerprint {
  executor: string;
  imageTag: string | null;
  imageId: string | null;
  configHash: string;
  hiveforgeVersion: string;
  nodeVersion: string;
}

/** A row of the summary table. */
export interface SummaryRow {
  job: string;
  /** Where the job ran: the executor, and for containers the image (`docker:node20`). */
  executor?: string;
  status: string;
  attempt: number;
  durationMs: number | null;
  /** Shown with `verbose`; null when the attempt never started. */
  fingerprint?: SummaryFingerprint | null;
}

/** How {@link renderSummary} renders. */
export interface SummaryOptions {
  /** Adds each job's environment: executor, image, configuration hash, versions. @default false */
  verbose?: boolean;
}

/** An image as a cell: its tag and the start of its id. */
const imageCell = (f: SummaryFingerprint) =>
  f.imageTag ? `${f.imageTag}${f.imageId ? ` (${f.imageId.replace(/^sha256:/, '').slice(0, 12)})` : ''}` : '-';

/** Renders the closing summary table. */
export function renderSummary(style: Style, rows: readonly SummaryRow[], options: SummaryOptions = {}): string {
  const verbose = options.verbose === true;
  const withExecutor = verbose || rows.some((r) => r.executor !== undefined);
  const header = ['JOB', 'STATUS', 'ATTEMPT', 'DURATION', ...(withExecutor ? ['EXECUTOR'] : [])];
  if (verbose) header.push('IMAGE', 'CONFIG', 'HIVEFORGE', 'NODE');
  const cells = rows.map((r) => {
    const f = r.fingerprint;
    const row = [r.job, r.status, String(r.attempt), r.durationMs === null ? '-' : formatDuration(r.durationMs)];
    // Verbose, the executor is the one the attempt reported running in.
    if (withExecutor) row.push((verbose ? f?.executor : undefined) ?? r.executor ?? '-');
    if (verbose)
      row.push(...(f ? [imageCell(f), f.configHash, f.hiveforgeVersion, f.nodeVersion] : Array(4).fill('-')));
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const pad = (row: string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const paint = (status: string, text: string) =>
    status === 'succeeded'
      ? style.green(text)
      : status === 'failed' || status === 'timed_out'
        ? style.red(text)
        : status === 'skipped' || status === 'cancelled'
          ? style.yellow(text)
          : text;
  return [style.bold(pad(header)), ...cells.map((c, i) => paint(rows[i]?.status ?? '', pad(c)))].join('\n');
}
