const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration that could not be read, with the text that was given. */
export class DurationError extends Error {
  constructor(readonly text: string) {
    super(`not a duration: "${text}" (expected e.g. 1h30m, 15m, 500ms)`);
    this.name = 'DurationError';
  }
}

/** Reads `1h30m`, `15m`, `90s`, `500ms` or a number of milliseconds; returns milliseconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new DurationError(String(text));
    return text;
  }
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) throw new DurationError(text);
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * (UNITS[unit as string] ?? 0), 0);
}

/** Writes milliseconds the way {@link parseDuration} reads them, largest unit first: `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNITS[unit] as number;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
