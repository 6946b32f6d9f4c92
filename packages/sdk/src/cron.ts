/** The five fields of a cron expression with their ranges and names. */
const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[] },
  { name: 'hour', min: 0, max: 23, names: [] as string[] },
  { name: 'day of month', min: 1, max: 31, names: [] as string[] },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A parsed cron expression: the allowed values of each field, in UTC. */
export interface CronSchedule {
  expression: string;
  minutes: number[];
  hours: number[];
  daysOfMonth: number[];
  months: number[];
  daysOfWeek: number[];
  /**
   * Whether the day-of-month and day-of-week fields restrict the day (they do not start with
   * `*`). When both do, a day matches when either matches, as in Vixie cron and POSIX.
   */
  restricts?: { dayOfMonth: boolean; dayOfWeek: boolean };
}

/** The result of {@link parseCron}: a schedule, or why the expression is not one. */
export type CronParseResult = { ok: true; schedule: CronSchedule } | { ok: false; error: string };

function parseValue(text: string, field: (typeof FIELDS)[number]): number | undefined {
  const upper = text.toUpperCase();
  const named = (field.names as readonly string[]).indexOf(upper);
  if (named >= 0) return named + (field.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text)) return undefined;
  return Number(text);
}

function parseField(text: string, field: (typeof FIELDS)[number]): number[] | string {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === undefined || range === '') return `"${part}" is not a valid ${field.name}`;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        return `step "${stepText}" in the ${field.name} field must be a positive number`;
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = field.min;
      to = field.max;
    } else {
      const [a, b, more] = range.split('-');
      if (more !== undefined || a === undefined) return `"${part}" is not a valid ${field.name}`;
      const start = parseValue(a, field);
      const end = b === undefined ? (stepText === undefined ? start : field.max) : parseValue(b, field);
      if (start === undefined || end === undefined) return `"${part}" is not a valid ${field.name}`;
      from = start;
      to = end;
    }
    if (from < field.min || to > field.max || from > to) {
      return `${field.name} "${part}" is out of range ${field.min}-${field.max}`;
    }
    for (let v = from; v <= to; v += step) values.add(field.name === 'day of week' && v === 7 ? 0 : v);
  }
  return [...values].sort((x, y) => x - y);
}

/**
 * Parses a five-field cron expression (minute hour day-of-month month day-of-week, UTC) or one
 * of the macros `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`.
 * @example parseCron('0 3 * * 1-5')
 */
export function parseCron(expression: string): CronParseResult {
  const source = MACROS[expression.trim()] ?? expression.trim();
  const parts = source.split(/\s+/);
  if (parts.length !== 5) {
    return {
      ok: false,
      error: `"${expression}" has ${parts.length} field${parts.length === 1 ? '' : 's'}; a cron expression has 5 (minute hour day-of-month month day-of-week)`,
    };
  }
  const parsed: number[][] = [];
  for (const [i, field] of FIELDS.entries()) {
    const result = parseField(parts[i] as string, field);
    if (typeof result === 'string') return { ok: false, error: result };
    parsed.push(result);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = parsed as [
    number[],
    number[],
    number[],
    number[],
    number[],
  ];
  const restricts = { dayOfMonth: !parts[2]?.startsWith('*'), dayOfWeek: !parts[4]?.startsWith('*') };
  return { ok: true, schedule: { expression, minutes, hours, daysOfMonth, months, daysOfWeek, restricts } };
}

const MINUTE_MS = 60_000;
/** How far ahead {@link nextCronTime} looks: 28 years hold every weekday of every date, Feb 29 included. */
const SEARCH_YEARS = 28;

/** True when a UTC day matches the day-of-month and day-of-week fields (POSIX semantics). */
function dayMatches(schedule: CronSchedule, date: Date): boolean {
  const dom = schedule.daysOfMonth.includes(date.getUTCDate());
  const dow = schedule.daysOfWeek.includes(date.getUTCDay());
  const restricts = schedule.restricts ?? { dayOfMonth: true, dayOfWeek: true };
  // Both restricted: either may match ('0 0 1 * MON' is the 1st and every Monday). One
  // restricted: only it counts (a '*' field matches every day anyway).
  if (restricts.dayOfMonth && restricts.dayOfWeek) return dom || dow;
  return dom && dow;
}

const nextIn = (values: readonly number[], from: number): number | undefined => values.find((v) => v >= from);

/**
 * The first time strictly after `after` (epoch milliseconds) at which a cron schedule fires,
 * in UTC, at a whole minute; `null` when it never does (`0 0 30 2 *`).
 * @example nextCronTime(parseCron('0 3 * * *').schedule, Date.parse('2026-01-01T03:00:00Z')) // 2026-01-02T03:00Z
 */
export function nextCronTime(schedule: CronSchedule | string, after: number): number | null {
  let cron: CronSchedule;
  if (typeof schedule === 'string') {
    const parsed = parseCron(schedule);
    if (!parsed.ok) throw new RangeError(parsed.error);
    cron = parsed.schedule;
  } else cron = schedule;
  if (!Number.isFinite(after)) return null;
  const start = new Date((Math.floor(after / MINUTE_MS) + 1) * MINUTE_MS);
  const limit = start.getUTCFullYear() + SEARCH_YEARS;
  let year = start.getUTCFullYear();
  let month = start.getUTCMonth() + 1;
  let day = start.getUTCDate();
  let hour = start.getUTCHours();
  let minute = start.getUTCMinutes();
  while (year <= limit) {
    const m = nextIn(cron.months, month);
    if (m === undefined) {
      year++;
      month = 1;
      day = 1;
      hour = 0;
      minute = 0;
      continue;
    }
    if (m !== month) {
      month = m;
      day = 1;
      hour = 0;
      minute = 0;
    }
    // Date.UTC rolls day 31 of a 30-day month into the next month: that is the month's end.
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCMonth() !== month - 1) {
      month++;
      day = 1;
      hour = 0;
      minute = 0;
      if (month > 12) {
        year++;
        month = 1;
      }
      continue;
    }
    if (!dayMatches(cron, date)) {
      day++;
      hour = 0;
      minute = 0;
      continue;
    }
    const h = nextIn(cron.hours, hour);
    if (h === undefined) {
      day++;
      hour = 0;
      minute = 0;
      continue;
    }
    if (h !== hour) {
      hour = h;
      minute = 0;
    }
    const min = nextIn(cron.minutes, minute);
    if (min === undefined) {
      hour++;
      minute = 0;
      if (hour > 23) {
        day++;
        hour = 0;
      }
      continue;
    }
    return Date.UTC(year, month - 1, day, hour, min);
  }
  return null;
}
