import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { moduleStateOf, moduleStateOfFile, productSourcesOf } from './helpers/module-state.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name));

describe('module-level state of the packages', () => {
  it('has no mutable singleton that does not say it is deliberately process-wide', () => {
    const found = packages
      .flatMap((dir) => productSourcesOf(join(dir, 'src')))
      .flatMap(moduleStateOfFile)
      .map(({ file, line, name, kind }) => `${relative(root, file)}:${line} ${name} (${kind})`);
    expect(found).toEqual([]);
  });

  it('finds top-level let, var and empty collections, unless a leading comment says process-wide', () => {
    const text = [
      'let counter = 0;',
      'var old = 1;',
      'const cache = new Map<string, number>();',
      'const list: string[] = [];',
      'const table = new Set([1, 2]);',
      'const limit = 3;',
      '/** Deliberately process-wide: one per process. */',
      'const shared = new WeakMap();',
      'function f() { let local = 0; const inner = new Map(); return [local, inner]; }',
    ].join('\n');
    expect(moduleStateOf('x.ts', text).map(({ line, name, kind }) => [line, name, kind])).toEqual([
      [1, 'counter', 'let'],
      [2, 'old', 'var'],
      [3, 'cache', 'empty collection'],
      [4, 'list', 'empty collection'],
    ]);
  });
});
