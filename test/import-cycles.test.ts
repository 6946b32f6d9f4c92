import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importGraphOf } from './helpers/import-graph.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name));

describe('the import graph of the packages', () => {
  const graph = importGraphOf({ packages });

  it('has no import cycle, type-only imports and tests included', () => {
    const cycles = findCycles(graph, root);
    expect(cycles.map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it("reaches the coordinator's scheduler only through its public face, scheduler/index.ts", () => {
    const scheduler = join(root, 'packages', 'coordinator', 'src', 'scheduler') + sep;
    const face = join(scheduler, 'index.ts');
    const past = [...graph].flatMap(([file, targets]) =>
      file.startsWith(scheduler)
        ? []
        : [...targets]
            .filter((target) => target.startsWith(scheduler) && target !== face)
            .map((target) => `${relative(root, file)} -> ${relative(root, target)}`),
    );
    expect(past).toEqual([]);
  });
});
