import { describe, expect, it } from 'vitest';
import { nextCronTime, parseCron } from './cron.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
/** The next `n` fire times after `from`. */
const fires = (cron: string, from: string, n: number) => {
  const out: (string | null)[] = [];
  let t: number | null = at(from);
  for (let i = 0; i < n && t !== null; i++) {
    t = nextCronTime(cron, t);
    out.push(iso(t));
  }
  return out;
};

describe('nextCronTime (UTC)', () => {
  it('is strictly after the given time, at a whole minute', () => {
    expect(iso(nextCronTime('0 3 * * *', at('2026-01-01T03:00:00Z')))).toBe('2026-01-02T03:00:00.000Z');
    expect(iso(nextCronTime('0 3 * * *', at('2026-01-01T02:59:59.999Z')))).toBe('2026-01-01T03:00:00.000Z');
    expect(iso(nextCronTime('* * * * *', at('2026-01-01T00:00:30Z')))).toBe('2026-01-01T00:01:00.000Z');
    expect(fires('*/20 9-10 * * *', '2026-03-04T10:30:00Z', 4)).toEqual([
      '2026-03-04T10:40:00.000Z',
      '2026-03-05T09:00:00.000Z',
      '2026-03-05T09:20:00.000Z',
      '2026-03-05T09:40:00.000Z',
    ]);
  });

  it('rolls over hours, days, months and years', () => {
    expect(iso(nextCronTime('59 23 31 12 *', at('2026-12-31T23:59:00Z')))).toBe('2027-12-31T23:59:00.000Z');
    expect(iso(nextCronTime('@yearly', at('2026-06-01T00:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(nextCronTime('@hourly', at('2026-02-28T23:10:00Z')))).toBe('2026-03-01T00:00:00.000Z');
  });

  it('skips months without the day: the 31st fires only in 31-day months', () => {
    expect(fires('0 0 31 * *', '2026-01-31T00:00:00Z', 4)).toEqual([
      '2026-03-31T00:00:00.000Z',
      '2026-05-31T00:00:00.000Z',
      '2026-07-31T00:00:00.000Z',
      '2026-08-31T00:00:00.000Z',
    ]);
    expect(fires('0 12 30 * *', '2026-01-30T12:00:00Z', 2)).toEqual([
      '2026-03-30T12:00:00.000Z',
      '2026-04-30T12:00:00.000Z',
    ]);
  });

  it('fires on February 29th only in leap years, and never on a date that does not exist', () => {
    expect(fires('0 0 29 2 *', '2026-01-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T00:00:00.000Z',
      '2032-02-29T00:00:00.000Z',
    ]);
    // 2100 is not a leap year: from 2097 the next one is 2104.
    expect(iso(nextCronTime('0 0 29 2 *', at('2097-01-01T00:00:00Z')))).toBe('2104-02-29T00:00:00.000Z');
    expect(nextCronTime('0 0 30 2 *', at('2026-01-01T00:00:00Z'))).toBeNull();
    expect(nextCronTime('0 0 31 4,6,9,11 *', at('2026-01-01T00:00:00Z'))).toBeNull();
  });

  it('day-of-week alone restricts to those weekdays; 7 and SUN are Sunday', () => {
    // 2026-03-02 is a Monday.
    expect(fires('0 9 * * MON-FRI', '2026-03-06T09:00:00Z', 2)).toEqual([
      '2026-03-09T09:00:00.000Z',
      '2026-03-10T09:00:00.000Z',
    ]);
    expect(iso(nextCronTime('0 0 * * 7', at('2026-03-02T00:00:00Z')))).toBe('2026-03-08T00:00:00.000Z');
    expect(iso(nextCronTime('@weekly', at('2026-03-02T00:00:00Z')))).toBe('2026-03-08T00:00:00.000Z');
  });

  it('day-of-month and day-of-week both restricted: either matches (POSIX, Vixie cron)', () => {
    // The 13th, and every Friday.
    expect(fires('0 0 13 * FRI', '2026-03-01T00:00:00Z', 4)).toEqual([
      '2026-03-06T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
      '2026-03-20T00:00:00.000Z',
      '2026-03-27T00:00:00.000Z',
    ]);
    expect(fires('0 0 1 * MON', '2026-03-24T00:00:00Z', 3)).toEqual([
      '2026-03-30T00:00:00.000Z',
      '2026-04-01T00:00:00.000Z',
      '2026-04-06T00:00:00.000Z',
    ]);
  });

  it('a day field starting with * does not restrict: */2 in day-of-month with a weekday is both', () => {
    // Odd days of the month that are also Mondays (the day-of-month field starts with '*').
    expect(fires('0 0 */2 * MON', '2026-03-01T00:00:00Z', 2)).toEqual([
      '2026-03-09T00:00:00.000Z',
      '2026-03-23T00:00:00.000Z',
    ]);
    const parsed = parseCron('0 0 */2 * MON');
    expect(parsed.ok && parsed.schedule.restricts).toEqual({ dayOfMonth: false, dayOfWeek: true });
  });

  it('accepts a parsed schedule and refuses an invalid expression', () => {
    const parsed = parseCron('30 4 1 1 *');
    if (!parsed.ok) throw new Error(parsed.error);
    expect(iso(nextCronTime(parsed.schedule, at('2026-05-05T00:00:00Z')))).toBe('2027-01-01T04:30:00.000Z');
    expect(() => nextCronTime('61 * * * *', 0)).toThrow(RangeError);
  });
});
