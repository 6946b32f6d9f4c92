import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** The static imports of every TypeScript source of a set of packages, by file (absolute paths). */
export type ImportGraph = Map<string, Set<string>>;

/** What {@link importGraphOf} reads. */
export interface ImportGraphOptions {
  /** The folders of the packages (each with a `package.json` and a `src/`). */
  packages: readonly string[];
  /** Whether test files (`*.test.ts`) are part of the graph. @default true */
  tests?: boolean;
}

const sourcesOf = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourcesOf(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });

/**
 * The sources a package name and subpath stand for, from each package's `exports` map: a built
 * file `./dist/x.js` is the source `src/x.ts`.
 */
function packageEntries(packages: readonly string[]): Map<string, string> {
  const entries = new Map<string, string>();
  for (const dir of packages) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      name: string;
      exports?: Record<string, string | { default?: string }>;
    };
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      const built = typeof target === 'string' ? target : target.default;
      if (!built) continue;
      const source = join(dir, built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
      entries.set(subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`, source);
    }
  }
  return entries;
}

/** The module specifiers a file imports or re-exports statically (type-only ones too). */
function specifiersOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found: string[] = [];
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      found.push(statement.moduleSpecifier.text);
    }
  }
  return found;
}

/** The source file a relative specifier (`./x.js`, `./x`, `./dir`) names, if it is one of ours. */
function resolveRelative(from: string, specifier: string): string | null {
  const base = resolve(dirname(from), specifier);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.js$/, '.tsx'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

/**
 * Reads the static import graph of the packages: relative imports, and imports of another of
 * the packages by name (through its `exports` map). Imports of anything else are left out.
 */
export function importGraphOf({ packages, tests = true }: ImportGraphOptions): ImportGraph {
  const entries = packageEntries(packages);
  const graph: ImportGraph = new Map();
  for (const dir of packages) {
    for (const file of sourcesOf(join(dir, 'src'))) {
      if (!tests && file.endsWith('.test.ts')) continue;
      const targets = new Set<string>();
      for (const specifier of specifiersOf(file)) {
        const target = specifier.startsWith('.') ? resolveRelative(file, specifier) : (entries.get(specifier) ?? null);
        if (target) targets.add(target);
      }
      graph.set(file, targets);
    }
  }
  return graph;
}

/**
 * The import cycles of a graph, each once, as the files along it (the first repeated at the
 * end), paths relative to `root`. Found by Tarjan's strongly connected components: each
 * component of more than one file (or a file importing itself) holds at least one cycle, and one
 * of them is given.
 */
export function findCycles(graph: ImportGraph, root: string): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, indices.get(w) as number));
      }
    }
    if (low.get(v) !== indices.get(v)) return;
    const component: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1 || graph.get(v)?.has(v)) components.push(component);
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) connect(v);
  return components.map((component) => cycleWithin(graph, new Set(component)).map((f) => relative(root, f)));
}

/** One cycle through the first file (sorted) of a strongly connected component, by breadth-first search. */
function cycleWithin(graph: ImportGraph, component: Set<string>): string[] {
  const start = [...component].sort()[0] as string;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = previous.get(v); p !== undefined; p = previous.get(p)) path.unshift(p);
        return [...path, start];
      }
      if (!previous.has(w) && w !== start) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
