import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDuration } from '../src/index.js';

describe('parseDuration', () => {
  it('reads units and sums them', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1_500);
  });

  it('takes milliseconds as a number', () => {
    expect(parseDuration(250)).toBe(250);
  });

  it('refuses what it cannot read', () => {
    expect(() => parseDuration('soon')).toThrow(DurationError);
    expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
    expect(() => parseDuration(-1)).toThrow(DurationError);
  });
});

describe('formatDuration', () => {
  it('writes the largest unit first', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    expect(formatDuration(0)).toBe('0s');
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 61_000, 86_400_001]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
