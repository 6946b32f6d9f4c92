import { describe, expect, it } from 'vitest';
import { CACHE_KEY_MAX_LENGTH, checkCacheKey, checkCacheOptions } from './cache.js';

describe('checkCacheOptions', () => {
  it('defaults restoreKeys to none and save to true', () => {
    expect(checkCacheOptions({ key: 'npm-abc', paths: ['~/.npm'] })).toEqual({
      key: 'npm-abc',
      paths: ['~/.npm'],
      restoreKeys: [],
      save: true,
      skipHostHome: false,
    });
  });

  it.each([
    [{ key: '', paths: ['x'] }, /non-empty/],
    [{ key: 'a,b', paths: ['x'] }, /comma/],
    [{ key: 'k'.repeat(CACHE_KEY_MAX_LENGTH + 1), paths: ['x'] }, /at most 512/],
    [{ key: 'k', paths: [] }, /at least one path/],
    [{ key: 'k', paths: ['../up'] }, /'\.\.' segment/],
    [{ key: 'k', paths: ['~bob/.npm'] }, /only ~ or ~\//],
    [{ key: 'k', paths: ['x'], restoreKeys: ['ok', 'bad\n'] }, /restore key 2/],
  ])('refuses %j with a one-line HF_CACHE_INVALID', (options, message) => {
    expect(() => checkCacheOptions(options as never)).toThrow(message);
    try {
      checkCacheOptions(options as never);
    } catch (error) {
      expect((error as { code: string }).code).toBe('HF_CACHE_INVALID');
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('a key is checked alone as the coordinator checks it', () => {
    expect(checkCacheKey('the cache key', 'cargo-linux-1')).toBe('cargo-linux-1');
    expect(() => checkCacheKey('the cache key', 'a\u0000')).toThrow(/control character/);
  });
});
