import { describe, expect, it } from 'vitest';
import { chooseEvictions } from './eviction.js';

const e = (_id: string, size: number, lastUsedAt: number) => ({ _id, size, lastUsedAt });

describe('chooseEvictions', () => {
  it('nothing goes while the entries fit the limit', () => {
    expect(chooseEvictions([e('a', 4, 1), e('b', 6, 2)], 10)).toEqual([]);
  });

  it('the least recently used go first, only as many as needed', () => {
    const entries = [e('new', 4, 30), e('old', 4, 10), e('mid', 4, 20)];
    expect(chooseEvictions(entries, 8).map((x) => x._id)).toEqual(['old']);
    expect(chooseEvictions(entries, 4).map((x) => x._id)).toEqual(['old', 'mid']);
  });

  it('the entry just saved stays even when it is the oldest', () => {
    const entries = [e('saved', 5, 1), e('a', 5, 2), e('b', 5, 3)];
    expect(chooseEvictions(entries, 10, 'saved').map((x) => x._id)).toEqual(['a']);
  });
});
