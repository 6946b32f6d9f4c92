import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraphOf } from './helpers/import-graph.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name));

describe('the import graph of the packages', () => {
  it('has no import cycle, type-only imports and tests included', () => {
    const cycles = findCycles(importGraphOf({ packages }), root);
    expect(cycles.map((cycle) => cycle.join(' -> '))).toEqual([]);
  });
});
