import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/** A top-level binding of a source file that holds state changed at run time. */
export interface ModuleState {
  /** The file, as given. */
  file: string;
  /** The line of the declaration, from 1. */
  line: number;
  name: string;
  /** Why it counts: `let`/`var`, or a collection created empty (`new Map()`, `[]`, ...). */
  kind: 'let' | 'var' | 'empty collection';
}

/** The words (any case) a leading comment carries when a module-level mutable binding is so on purpose. */
export const PROCESS_WIDE = 'process-wide';

const COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array']);

/** Whether an initializer creates an empty collection: `new Map()`, `new Set<T>()`, `[]`. */
function isEmptyCollection(init: ts.Expression | undefined): boolean {
  if (!init) return false;
  if (ts.isAsExpression(init) || ts.isSatisfiesExpression(init)) return isEmptyCollection(init.expression);
  if (ts.isArrayLiteralExpression(init)) return init.elements.length === 0;
  return (
    ts.isNewExpression(init) &&
    ts.isIdentifier(init.expression) &&
    COLLECTIONS.has(init.expression.text) &&
    (init.arguments?.length ?? 0) === 0
  );
}

/**
 * The module-level mutable bindings of a source text that do not say they are deliberately
 * process-wide (a leading comment with {@link PROCESS_WIDE}): top-level `let` and `var`, and
 * top-level `const`s that start as an empty collection (filled at run time). Tables built with
 * their contents (`new Set([...])`) are read-only by use and not reported.
 */
export function moduleStateOf(file: string, text: string): ModuleState[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: ModuleState[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const comments = ts.getLeadingCommentRanges(text, statement.getFullStart()) ?? [];
    if (comments.some((range) => text.slice(range.pos, range.end).toLowerCase().includes(PROCESS_WIDE))) continue;
    const flags = statement.declarationList.flags;
    const kind = flags & ts.NodeFlags.Let ? 'let' : flags & ts.NodeFlags.Const ? 'const' : 'var';
    for (const declaration of statement.declarationList.declarations) {
      if (kind === 'const' && !isEmptyCollection(declaration.initializer)) continue;
      const line = source.getLineAndCharacterOfPosition(declaration.getStart(source)).line + 1;
      found.push({
        file,
        line,
        name: declaration.name.getText(source),
        kind: kind === 'const' ? 'empty collection' : kind,
      });
    }
  }
  return found;
}

/** The TypeScript sources under `dir`, without tests, test fixtures, `dist` and `node_modules`. */
export function productSourcesOf(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return ['node_modules', 'dist', '__fixtures__'].includes(name) ? [] : productSourcesOf(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** {@link moduleStateOf} of a file on disk. */
export const moduleStateOfFile = (file: string): ModuleState[] => moduleStateOf(file, readFileSync(file, 'utf8'));
