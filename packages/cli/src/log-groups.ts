/**
 * Folds the `::group::TITLE` / `::endgroup::` markers that `ctx.log.group` writes into a titled
 * section: the opening marker becomes `▸ TITLE`, the closing one disappears, and the lines
 * between are indented one step per open group.
 */
export interface LogGroupFolder {
  /** How one complete line of `job`'s log reads, or null when it prints nothing (a closing marker). */
  fold(job: string, line: string): string | null;
}

const OPEN = '::group::';
const CLOSE = '::endgroup::';

/** Creates a folder that tracks each job's open groups separately. */
export function createLogGroupFolder(): LogGroupFolder {
  const depth = new Map<string, number>();
  return {
    fold(job, line) {
      const open = depth.get(job) ?? 0;
      const indent = '  '.repeat(open);
      if (line.startsWith(OPEN)) {
        depth.set(job, open + 1);
        return `${indent}▸ ${line.slice(OPEN.length).trim()}`;
      }
      if (line.trimEnd() === CLOSE) {
        // A stray closing marker (no group open) prints nothing either.
        depth.set(job, Math.max(0, open - 1));
        return null;
      }
      return `${indent}${line}`;
    },
  };
}
