import { describe, expect, it } from 'vitest';
import { matchCacheEntry } from './restore-match.js';

const entry = (key: string, scope: string, createdAt: number) => ({ key, scope, createdAt });

describe('matchCacheEntry', () => {
  const entries = [
    entry('npm-linux-aaa', 'main', 1),
    entry('npm-linux-bbb', 'main', 3),
    entry('npm-linux-ccc', 'feature', 2),
    entry('npm-mac-ddd', 'feature', 5),
  ];

  it('an exact key in the branch wins over newer prefix matches', () => {
    expect(
      matchCacheEntry(entries, { key: 'npm-linux-ccc', restoreKeys: ['npm-'], scopes: ['feature', 'main'] }),
    ).toEqual({ hit: 'exact', entry: entries[2] });
  });

  it('restore keys are tried in order, each taking its newest match in the branch', () => {
    expect(
      matchCacheEntry(entries, {
        key: 'npm-linux-zzz',
        restoreKeys: ['npm-linux-', 'npm-'],
        scopes: ['feature', 'main'],
      }),
    ).toEqual({ hit: 'prefix', entry: entries[2] });
    expect(
      matchCacheEntry(entries, { key: 'npm-win-zzz', restoreKeys: ['npm-'], scopes: ['feature', 'main'] }),
    ).toEqual({
      hit: 'prefix',
      entry: entries[3],
    });
  });

  it('the key itself is a prefix before the restore keys, as GitHub Actions matches', () => {
    expect(matchCacheEntry(entries, { key: 'npm-mac', restoreKeys: ['npm-linux-'], scopes: ['feature'] })).toEqual({
      hit: 'prefix',
      entry: entries[3],
    });
  });

  it('a branch with no match falls back to the default branch, exact before prefix', () => {
    expect(matchCacheEntry(entries, { key: 'npm-linux-aaa', restoreKeys: [], scopes: ['other', 'main'] })).toEqual({
      hit: 'exact',
      entry: entries[0],
    });
    expect(
      matchCacheEntry(entries, { key: 'npm-linux-x', restoreKeys: ['npm-linux-'], scopes: ['other', 'main'] }),
    ).toEqual({ hit: 'prefix', entry: entries[1] });
  });

  it('another branch than the run and default branches is never restored', () => {
    expect(matchCacheEntry(entries, { key: 'npm-mac-ddd', restoreKeys: ['npm-'], scopes: ['other'] })).toBeNull();
    expect(matchCacheEntry(entries, { key: 'npm-mac-ddd', restoreKeys: [], scopes: ['other', 'main'] })).toBeNull();
  });
});
