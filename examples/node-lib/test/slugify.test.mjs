import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slugify } from '../dist/slugify.js';

test('joins lower-case words with dashes', () => {
  assert.equal(slugify('Hello, World!'), 'hello-world');
});

test('drops accents', () => {
  assert.equal(slugify('Crème brûlée'), 'creme-brulee');
});

test('cuts at a word boundary', () => {
  assert.equal(slugify('one two three', { maxLength: 8 }), 'one-two');
});
