import { describe, expect, it } from 'vitest';
import { slugify } from '../src/index.js';

describe('slugify', () => {
  it('joins lower-case words with dashes', () => {
    expect(slugify('Hello, World!')).toBe('hello-world');
  });

  it('drops accents', () => {
    expect(slugify('Crème brûlée')).toBe('creme-brulee');
  });

  it('cuts at a word boundary', () => {
    expect(slugify('one two three', { maxLength: 8 })).toBe('one-two');
  });

  it('takes another separator', () => {
    expect(slugify('a b c', { separator: '_' })).toBe('a_b_c');
  });
});
