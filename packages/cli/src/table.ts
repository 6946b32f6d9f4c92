/** Renders rows under a header as left-aligned columns two spaces apart, trailing spaces trimmed. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A moment as `2026-12-02 09:14:03Z`, or `-`. */
export const formatTime = (ms: number | null | undefined): string =>
  ms == null ? '-' : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;

/** Prints a value as indented JSON, for `--json`. */
export const toJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
