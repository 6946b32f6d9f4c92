import { BadInputError } from './errors.js';

/** A duration as a number of milliseconds or a string such as `'90s'`, `'15m'`, `'1h30m'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}${string}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses a {@link Duration} into milliseconds.
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(value: Duration | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new BadInputError(`invalid duration: ${value}`);
    return Math.round(value);
  }
  const text = value.trim();
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
    matched = PART.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new BadInputError(`invalid duration "${value}": use a number of ms or forms like 90s, 15m, 1h30m`);
  }
  return Math.round(total);
}

/** Formats milliseconds for people: `850ms`, `12.3s`, `4m05s`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1_000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}
