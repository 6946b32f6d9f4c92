import { ErrorCodes } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import { type DiagnosticSink, type Located, snippet } from './diagnostic-sink.js';
import type { Evaluation } from './evaluation.js';
import { undeclared } from './not-static.js';
import { type Failure, HINT_LITERAL, HINT_MATRIX, MAX_DEPTH, type Resolved, fail } from './resolution.js';
import { usedBeforeDeclaration } from './declaration-order.js';
import { type Declaration, exportsOf, lookup, lookupTopLevel } from './scope.js';
import { SDK_DATA, SDK_EXPORTS, SDK_MODULE } from './sdk-module.js';
import { type SourceFileInfo, type SourceHost, isRelativeSpecifier } from './source-host.js';
import { type StaticValue, describeValue, fromPlain } from './static-value.js';
import { didYouMean } from './suggest.js';
import { lineOf, unwrap } from './syntax.js';

/**
 * Follows names to where their values are written: `const` bindings in scope (walking the
 * syntax tree's scopes, never the type checker), imports of local files through re-exports,
 * the SDK's exports, and property and element accesses on what those lead to. It reads only
 * what a resolution passes through; evaluating values is the {@link Evaluation}'s.
 */
export class NameResolver {
  /** Imports resolved in this analysis: every job may reference the same imported const. */
  private readonly imports = new Map<Declaration, Resolved>();
  private readonly filesSeen = new Set<SourceFileInfo>();

  /**
   * @param sink the analysis' own sink: a file that cannot be read is reported even while the
   *   evaluation is quiet.
   */
  constructor(
    private readonly evaluation: Evaluation,
    private readonly host: SourceHost,
    private readonly sink: DiagnosticSink,
  ) {}

  /** Reports the syntax errors of a file the first time this analysis reads it. */
  noteFile(file: SourceFileInfo): void {
    if (this.filesSeen.has(file)) return;
    this.filesSeen.add(file);
    for (const d of file.syntaxErrors.slice(0, 10)) {
      this.sink.error(
        ErrorCodes.analysisSource,
        { file, node: d.start },
        `syntax error: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
        'Fix the syntax error; the pipeline cannot be read until the file parses.',
      );
    }
  }

  resolve(expression: ts.Expression, file: SourceFileInfo, depth = 0): Resolved {
    if (depth > MAX_DEPTH) return fail({ file, node: expression }, 'refers to itself in a loop of constants');
    const e = unwrap(expression);
    if (ts.isIdentifier(e)) return this.resolveIdentifier(e, file, depth);
    if (ts.isPropertyAccessExpression(e)) {
      const base = this.resolve(e.expression, file, depth + 1);
      return this.member(base, e.name.text, e, file, depth);
    }
    if (ts.isElementAccessExpression(e)) {
      const keyValue = this.evaluation.evaluate(e.argumentExpression, file, 'the index');
      if (keyValue.kind !== 'string' && keyValue.kind !== 'number') {
        return keyValue.kind === 'unknown'
          ? { ...fail({ file, node: e.argumentExpression }, 'is not static'), reported: true }
          : fail({ file, node: e.argumentExpression }, 'must be a string or number literal to be read statically');
      }
      const base = this.resolve(e.expression, file, depth + 1);
      return this.member(base, keyValue.value, e, file, depth);
    }
    return { kind: 'expression', expression: e, file };
  }

  /** Resolves `export`ed `name` of a file, following re-exports. */
  resolveExport(target: SourceFileInfo, name: string, at: Located, depth: number): Resolved {
    const found = this.findExport(target, name, depth, new Set());
    if (found) return found;
    const names = [...exportsOf(target.sf).named.keys()];
    return fail(
      at,
      `${target.rel} has no export named \`${name}\`.${didYouMean(name, names, (s) => `\`${s}\``)}`,
      names.length ? `It exports: ${names.join(', ')}.` : 'Export the value from that file with `export const`.',
      ErrorCodes.analysisInvalidValue,
    );
  }

  private resolveIdentifier(id: ts.Identifier, file: SourceFileInfo, depth: number): Resolved {
    const d = lookup(id.text, id);
    if (!d) {
      if (id.text === 'undefined') return { kind: 'value', value: { kind: 'undefined', node: id, file } };
      return undeclared(id, file);
    }
    return this.resolveDeclaration(d, id.text, id, file, depth, true);
  }

  private resolveDeclaration(
    d: Declaration,
    name: string,
    ref: ts.Node,
    file: SourceFileInfo,
    depth: number,
    checkOrder: boolean,
  ): Resolved {
    const at = { file, node: ref };
    switch (d.kind) {
      case 'const': {
        const init = d.declaration.initializer;
        if (!init) return fail(at, `\`${name}\` has no initializer`, HINT_LITERAL);
        if (checkOrder && usedBeforeDeclaration(ref, d.declaration)) {
          return fail(
            at,
            `\`${name}\` is used before its declaration on line ${lineOf(file, d.declaration)} has run`,
            `Move the declaration of \`${name}\` above this use; at run time this would throw a ReferenceError.`,
            ErrorCodes.analysisInvalidValue,
          );
        }
        let r = this.resolve(init, file, depth + 1);
        for (const step of d.path) {
          r = this.member(r, step, d.declaration.name, file, depth);
          if (r.kind === 'fail') break;
        }
        return r;
      }
      case 'import': {
        const cached = this.imports.get(d);
        if (cached) return cached;
        const resolved = this.resolveImport(d, name, file, depth);
        if (!this.evaluation.quiet) this.imports.set(d, resolved);
        return resolved;
      }
      case 'function':
        return { kind: 'function', fn: d.declaration, file };
      case 'let':
      case 'var':
        return fail(
          at,
          `\`${name}\` is declared with \`${d.kind}\`, so its value may change before it is used`,
          `Declare \`${name}\` with \`const\` and a literal value.`,
        );
      case 'using':
        return fail(at, `\`${name}\` is a \`using\` resource`, HINT_LITERAL);
      case 'parameter':
        return fail(at, `\`${name}\` is a function parameter, known only at run time`, HINT_MATRIX);
      case 'loop':
        return fail(at, `\`${name}\` is a loop variable, known only at run time`, HINT_MATRIX);
      case 'catch':
        return fail(at, `\`${name}\` is a caught error, known only at run time`, HINT_LITERAL);
      case 'class':
      case 'enum':
        return fail(
          at,
          `\`${name}\` is ${d.kind === 'class' ? 'a class' : 'an enum'}, not a static value`,
          HINT_LITERAL,
        );
      case 'pattern':
        return fail(
          at,
          `\`${name}\` comes from a destructuring rest element or default value`,
          'Destructure without defaults or rest elements, or use a property access (`config.name`).',
        );
      case 'type-import':
        return fail(at, `\`${name}\` is a type-only import, not a value`, 'Import the value itself.');
    }
  }

  private resolveImport(
    d: Extract<Declaration, { kind: 'import' }>,
    name: string,
    file: SourceFileInfo,
    depth: number,
  ): Resolved {
    const at = { file, node: d.node };
    if (d.specifier === SDK_MODULE) {
      if (d.imported === '*') return { kind: 'sdk-namespace', node: d.node, file };
      if (d.imported === 'default' || !SDK_EXPORTS.has(d.imported)) {
        return fail(
          at,
          `${SDK_MODULE} has no export named \`${d.imported}\`.${didYouMean(d.imported, SDK_EXPORTS, (s) => `\`${s}\``)}`,
          `Import it by name: import { ${d.imported === 'default' ? 'pipeline' : d.imported} } from '${SDK_MODULE}'.`,
          ErrorCodes.analysisInvalidValue,
        );
      }
      return { kind: 'sdk', name: d.imported, node: d.node, file };
    }
    if (!isRelativeSpecifier(d.specifier)) {
      return fail(
        at,
        `\`${name}\` is imported from the package "${d.specifier}"; only files of the project are read, not packages`,
        'Declare the value in this file or in a local file imported with a relative path (./config.js).',
      );
    }
    const target = this.loadImport(file, d.specifier, d.declaration.moduleSpecifier);
    if ('kind' in target) return target;
    if (d.imported === '*') return { kind: 'module', target, node: d.node, file };
    return this.resolveExport(target, d.imported, at, depth + 1);
  }

  /** Loads a relative import, reporting HF_ANALYSIS_SOURCE at the specifier when it fails. */
  loadImport(file: SourceFileInfo, specifier: string, node: ts.Node): SourceFileInfo | Failure {
    const loaded = this.host.resolveImport(file, specifier);
    if (loaded.ok) {
      this.noteFile(loaded.file);
      return loaded.file;
    }
    const failure = fail(
      { file, node },
      `cannot read "${specifier}": ${loaded.reason}`,
      'Check the import path; the analyzer reads the project files that hiveforge.ts imports with relative paths.',
      ErrorCodes.analysisSource,
    );
    this.sink.error(failure.code, failure.at, failure.message, failure.hint);
    return { ...failure, reported: true };
  }

  private findExport(
    target: SourceFileInfo,
    name: string,
    depth: number,
    visited: Set<SourceFileInfo>,
  ): Resolved | undefined {
    if (visited.has(target)) return undefined;
    visited.add(target);
    const table = exportsOf(target.sf);
    const entry = table.named.get(name);
    if (entry) {
      const at = { file: target, node: 'node' in entry ? entry.node : entry.expression };
      switch (entry.kind) {
        case 'local': {
          const d = lookupTopLevel(entry.local, target.sf);
          if (!d) return undeclared(entry.node, target, entry.local);
          return this.resolveDeclaration(d, entry.local, entry.node, target, depth + 1, false);
        }
        case 'expression':
          return this.resolve(entry.expression, target, depth + 1);
        case 'declaration':
          return ts.isFunctionDeclaration(entry.node)
            ? { kind: 'function', fn: entry.node, file: target }
            : fail(at, 'the default export is a class, not a static value', HINT_LITERAL);
        case 're-export':
        case 'namespace': {
          if (entry.specifier === SDK_MODULE) {
            if (entry.kind === 'namespace') return { kind: 'sdk-namespace', node: entry.node, file: target };
            return SDK_EXPORTS.has(entry.imported)
              ? { kind: 'sdk', name: entry.imported, node: entry.node, file: target }
              : fail(
                  at,
                  `${SDK_MODULE} has no export named \`${entry.imported}\``,
                  'Check the name.',
                  ErrorCodes.analysisInvalidValue,
                );
          }
          if (!isRelativeSpecifier(entry.specifier)) {
            return fail(
              at,
              `\`${name}\` is re-exported from the package "${entry.specifier}"; packages are not read`,
              HINT_LITERAL,
            );
          }
          const next = this.loadImport(target, entry.specifier, entry.node);
          if ('kind' in next) return next;
          if (entry.kind === 'namespace') return { kind: 'module', target: next, node: entry.node, file: target };
          return this.resolveExport(next, entry.imported, at, depth + 1);
        }
      }
    }
    if (name === 'default') return undefined;
    for (const star of table.stars) {
      if (star.specifier === SDK_MODULE) {
        if (SDK_EXPORTS.has(name)) return { kind: 'sdk', name, node: star.node, file: target };
        continue;
      }
      if (!isRelativeSpecifier(star.specifier)) continue;
      const next = this.loadImport(target, star.specifier, star.node);
      if ('kind' in next) continue;
      const found = this.findExport(next, name, depth + 1, visited);
      if (found) return found;
    }
    return undefined;
  }

  private member(base: Resolved, key: string | number, node: ts.Node, file: SourceFileInfo, depth: number): Resolved {
    const at = { file, node };
    const name = String(key);
    switch (base.kind) {
      case 'fail':
      case 'missing':
        return base;
      case 'sdk-namespace':
        if (!SDK_EXPORTS.has(name)) {
          return fail(
            at,
            `${SDK_MODULE} has no export named \`${name}\`.${didYouMean(name, SDK_EXPORTS, (s) => `\`${s}\``)}`,
            'Check the name.',
            ErrorCodes.analysisInvalidValue,
          );
        }
        return { kind: 'sdk', name, node, file };
      case 'sdk': {
        if (!Object.hasOwn(SDK_DATA, base.name)) break;
        return this.valueMember(fromPlain(SDK_DATA[base.name], base.node, base.file), name, at);
      }
      case 'module':
        return this.resolveExport(base.target, name, at, depth + 1);
      case 'value':
        return this.valueMember(base.value, name, at);
      case 'function':
        break;
      case 'expression': {
        const e = base.expression;
        if (ts.isObjectLiteralExpression(e)) return this.objectMember(e, name, base.file, at, depth);
        if (ts.isArrayLiteralExpression(e) || ts.isCallExpression(e)) {
          return this.valueMember(
            this.evaluation.evaluateExpression(e, base.file, `\`${snippet(node, file.sf)}\``),
            name,
            at,
          );
        }
        break;
      }
    }
    return fail(at, `\`${snippet(node, file.sf)}\` is not a static value`, HINT_LITERAL);
  }

  private valueMember(value: StaticValue, key: string, at: Located): Resolved {
    if (value.kind === 'unknown') return { ...fail(at, 'is not static'), reported: true };
    if (value.kind === 'object') {
      const p = value.properties.get(key);
      if (p) return { kind: 'value', value: p.value };
      if (value.partial) return fail(at, `\`${key}\` may come from a spread that is not static`, HINT_LITERAL);
      return { kind: 'missing', key, keys: [...value.properties.keys()], at };
    }
    if (value.kind === 'array' && /^\d+$/.test(key)) {
      const item = value.items[Number(key)];
      if (item && !value.partial) return { kind: 'value', value: item };
      if (!value.partial) return { kind: 'missing', key, keys: [], at };
    }
    if (value.kind === 'job' && key === 'name') {
      const name = value.call.arguments[0];
      if (name) return this.resolve(name, value.callFile);
    }
    return fail(at, `cannot read \`${key}\` of ${describeValue(value)} statically`, HINT_LITERAL);
  }

  /** Finds a property of an object literal without evaluating its other properties. */
  private objectMember(
    e: ts.ObjectLiteralExpression,
    key: string,
    file: SourceFileInfo,
    at: Located,
    depth: number,
  ): Resolved {
    const properties = e.properties;
    for (let i = properties.length - 1; i >= 0; i--) {
      const p = properties[i] as ts.ObjectLiteralElementLike;
      if (ts.isSpreadAssignment(p)) {
        const r = this.member(this.resolve(p.expression, file, depth + 1), key, at.node as ts.Node, at.file, depth + 1);
        if (r.kind !== 'missing') return r;
        continue;
      }
      const name = p.name;
      if (!name) continue;
      if (ts.isComputedPropertyName(name)) {
        // A computed key might be this one: fall back to evaluating the whole object.
        return this.valueMember(this.evaluation.evaluateExpression(e, file, `\`${snippet(e, file.sf)}\``), key, at);
      }
      const text = ts.isNumericLiteral(name)
        ? String(Number(name.text))
        : ts.isPrivateIdentifier(name)
          ? undefined
          : name.text;
      if (text !== key) continue;
      if (ts.isPropertyAssignment(p)) return this.resolve(p.initializer, file, depth + 1);
      if (ts.isShorthandPropertyAssignment(p)) return this.resolve(p.name, file, depth + 1);
      return fail({ file, node: p }, `\`${key}\` is a method or accessor, not a static value`, HINT_LITERAL);
    }
    const keys = e.properties.flatMap((p) =>
      p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? [p.name.text] : [],
    );
    return { kind: 'missing', key, keys, at };
  }
}
