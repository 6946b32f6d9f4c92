import * as sdk from '@hiveforge/sdk';
import { type ErrorCode, ErrorCodes } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import { DiagnosticSink, type Located, snippet } from './diagnostic-sink.js';
import { type Declaration, exportsOf, lookup, lookupTopLevel } from './scope.js';
import { type SourceFileInfo, type SourceHost, isRelativeSpecifier } from './source-host.js';
import { didYouMean } from './suggest.js';

/** The module specifier users import the SDK from. */
export const SDK_MODULE = '@hiveforge/sdk';

/** SDK calls whose result the analyzer can describe without running them. */
export const SDK_CALLS = ['pipeline', 'job', 'image', 'push', 'pullRequest', 'schedule', 'manual'] as const;
export type SdkCall = (typeof SDK_CALLS)[number];

// Plain data the SDK exports; a pipeline may use them in structural positions (`TriggerEvent.push`).
const SDK_DATA: Readonly<Record<string, unknown>> = {
  TriggerEvent: sdk.TriggerEvent,
  DEFAULT_JOB_TIMEOUT_MS: sdk.DEFAULT_JOB_TIMEOUT_MS,
  API_VERSION: sdk.API_VERSION,
};
const SDK_EXPORTS = new Set(Object.keys(sdk));
const SDK_CALL_SET: ReadonlySet<string> = new Set(SDK_CALLS);

interface Origin {
  /** The node the value was written as: diagnostics about the value point here. */
  node: ts.Node;
  file: SourceFileInfo;
}

/** A property of a static object, with the node of its key for diagnostics about the key. */
export interface StaticProperty {
  key: string;
  keyNode: ts.Node;
  keyFile: SourceFileInfo;
  value: StaticValue;
}

/**
 * A value read from source without running it. Every value remembers where it was written, so
 * a diagnostic about it points at the literal, even when it came through a `const` or an import.
 * `unknown` marks a value that could not be read; a diagnostic has already been reported.
 */
export type StaticValue =
  | ({ kind: 'string'; value: string } & Origin)
  | ({ kind: 'number'; value: number } & Origin)
  | ({ kind: 'boolean'; value: boolean } & Origin)
  | ({ kind: 'null' } & Origin)
  | ({ kind: 'undefined' } & Origin)
  | ({ kind: 'array'; items: StaticValue[]; partial: boolean } & Origin)
  | ({ kind: 'object'; properties: Map<string, StaticProperty>; partial: boolean } & Origin)
  /**
   * The result of an SDK `job()` or `image()` call: a reference, read by the caller. Its origin
   * is where it is referenced (`needs: [build]` points at `build`); `call` is the declaration.
   */
  | ({ kind: 'job'; call: ts.CallExpression; callFile: SourceFileInfo } & Origin)
  | ({ kind: 'image'; call: ts.CallExpression; callFile: SourceFileInfo } & Origin)
  | ({ kind: 'function'; fn: ts.SignatureDeclaration } & Origin)
  | ({ kind: 'unknown' } & Origin);

/** Why a value cannot be read statically. `reported` when a diagnostic was already issued. */
interface Failure {
  kind: 'fail';
  at: Located;
  code: ErrorCode;
  message: string;
  hint: string;
  reported?: boolean;
}

/** Where an expression leads once constants, imports and property accesses are followed. */
export type Resolved =
  | { kind: 'expression'; expression: ts.Expression; file: SourceFileInfo }
  | { kind: 'value'; value: StaticValue }
  | { kind: 'sdk'; name: string; node: ts.Node; file: SourceFileInfo }
  | { kind: 'sdk-namespace'; node: ts.Node; file: SourceFileInfo }
  | { kind: 'module'; target: SourceFileInfo; node: ts.Node; file: SourceFileInfo }
  | { kind: 'function'; fn: ts.FunctionDeclaration | ts.FunctionExpression; file: SourceFileInfo }
  /** A property access on a static object that has no such property. */
  | { kind: 'missing'; key: string; keys: string[]; at: Located }
  | Failure;

const MAX_DEPTH = 64;

const HINT_LITERAL =
  'Structural options are read without running code: write a literal, or a `const` initialized with one (in this file or a local file it imports).';
const HINT_ENV =
  'Structural options are read without running code. Write the value as a literal here and read environment variables inside the job body.';
const HINT_MATRIX = 'To declare variations of a job, give it a `matrix`; to run it only sometimes, give it an `if`.';

function isFunctionLike(node: ts.Node): node is ts.SignatureDeclaration {
  switch (node.kind) {
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.FunctionExpression:
    case ts.SyntaxKind.FunctionDeclaration:
    case ts.SyntaxKind.MethodDeclaration:
    case ts.SyntaxKind.Constructor:
    case ts.SyntaxKind.GetAccessor:
    case ts.SyntaxKind.SetAccessor:
      return true;
    default:
      return false;
  }
}

/** Strips `( … )`, `as`, `satisfies`, `!` and `<T>` wrappers. */
export function unwrap(expression: ts.Expression): ts.Expression {
  let e = expression;
  for (;;) {
    switch (e.kind) {
      case ts.SyntaxKind.ParenthesizedExpression:
      case ts.SyntaxKind.AsExpression:
      case ts.SyntaxKind.SatisfiesExpression:
      case ts.SyntaxKind.NonNullExpression:
      case ts.SyntaxKind.TypeAssertionExpression:
        e = (e as ts.ParenthesizedExpression).expression;
        break;
      default:
        return e;
    }
  }
}

/** A human description of a value's type for messages: "the string 'two'", "an array". */
export function describeValue(value: StaticValue): string {
  switch (value.kind) {
    case 'string':
      return `the string ${JSON.stringify(value.value)}`;
    case 'number':
      return `the number ${value.value}`;
    case 'boolean':
      return `\`${value.value}\``;
    case 'null':
      return '`null`';
    case 'undefined':
      return '`undefined`';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    case 'job':
      return 'a job reference';
    case 'image':
      return 'an image';
    case 'function':
      return 'a function';
    case 'unknown':
      return 'a value that is not static';
  }
}

/**
 * Reads expressions in structural positions as static values: literals, `const` bindings in
 * scope or imported from local files (through re-exports), property accesses on them, spreads,
 * and the SDK's descriptive calls. It never runs code and never uses the type checker: names
 * are resolved by walking the scopes of the syntax tree. One evaluator serves one analysis.
 */
export class Evaluator {
  private values = new Map<ts.Node, StaticValue>();
  /** Imports resolved in this analysis: every job may reference the same imported const. */
  private readonly imports = new Map<Declaration, Resolved>();
  private readonly filesSeen = new Set<SourceFileInfo>();
  private sink: DiagnosticSink;

  constructor(
    private readonly host: SourceHost,
    private readonly realSink: DiagnosticSink,
  ) {
    this.sink = realSink;
  }

  /** Runs `fn` with diagnostics discarded and a private value cache (for callee lookups). */
  private quietly<T>(fn: () => T): T {
    const { sink, values } = this;
    this.sink = new DiagnosticSink();
    this.values = new Map();
    try {
      return fn();
    } finally {
      this.sink = sink;
      this.values = values;
    }
  }

  /** Reports the syntax errors of a file the first time this analysis reads it. */
  noteFile(file: SourceFileInfo): void {
    if (this.filesSeen.has(file)) return;
    this.filesSeen.add(file);
    for (const d of file.syntaxErrors.slice(0, 10)) {
      this.realSink.error(
        ErrorCodes.analysisSource,
        { file, node: d.start },
        `syntax error: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`,
        'Fix the syntax error; the pipeline cannot be read until the file parses.',
      );
    }
  }

  /** The SDK function a call invokes (`job`, `hf.pipeline`, a renamed import…), if any. */
  sdkCallee(call: ts.CallExpression, file: SourceFileInfo): string | undefined {
    const callee = unwrap(call.expression);
    let base: ts.Expression = callee;
    while (ts.isPropertyAccessExpression(base)) base = base.expression;
    if (!ts.isIdentifier(base)) return undefined;
    // Fast path: most calls are to SDK imports or to names that cannot lead to the SDK.
    const d = lookup(base.text, base);
    if (!d) return undefined;
    if (d.kind === 'import') {
      if (d.specifier === SDK_MODULE) {
        if (callee === base) return d.imported === '*' ? undefined : d.imported;
        if (d.imported === '*' && ts.isPropertyAccessExpression(callee) && callee.expression === base)
          return callee.name.text;
      } else if (!isRelativeSpecifier(d.specifier)) return undefined;
    } else if (d.kind !== 'const') return undefined;
    return this.quietly(() => {
      const r = this.resolve(callee, file);
      return r.kind === 'sdk' ? r.name : undefined;
    });
  }

  /** Resolves an expression to where its value is written, without reporting anything. */
  resolve(expression: ts.Expression, file: SourceFileInfo, depth = 0): Resolved {
    if (depth > MAX_DEPTH) return this.fail({ file, node: expression }, 'refers to itself in a loop of constants');
    const e = unwrap(expression);
    if (ts.isIdentifier(e)) return this.resolveIdentifier(e, file, depth);
    if (ts.isPropertyAccessExpression(e)) {
      const base = this.resolve(e.expression, file, depth + 1);
      return this.member(base, e.name.text, e, file, depth);
    }
    if (ts.isElementAccessExpression(e)) {
      const keyValue = this.evaluate(e.argumentExpression, file, 'the index');
      if (keyValue.kind !== 'string' && keyValue.kind !== 'number') {
        return keyValue.kind === 'unknown'
          ? { ...this.fail({ file, node: e.argumentExpression }, 'is not static'), reported: true }
          : this.fail({ file, node: e.argumentExpression }, 'must be a string or number literal to be read statically');
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
    return this.fail(
      at,
      `${target.rel} has no export named \`${name}\`.${didYouMean(name, names, (s) => `\`${s}\``)}`,
      names.length ? `It exports: ${names.join(', ')}.` : 'Export the value from that file with `export const`.',
      ErrorCodes.analysisInvalidValue,
    );
  }

  /**
   * Evaluates an expression in a structural position. Anything that cannot be read is reported
   * once (as HF_ANALYSIS_NOT_STATIC unless more specific) and returned as `unknown`.
   * @param label names the position in messages, e.g. "job 'test' › retries".
   */
  evaluate(expression: ts.Expression, file: SourceFileInfo, label: string): StaticValue {
    return this.valueOf(this.resolve(expression, file), label, { file, node: expression });
  }

  private valueOf(r: Resolved, label: string, at: { file: SourceFileInfo; node: ts.Node }): StaticValue {
    switch (r.kind) {
      case 'expression': {
        // Values reached through a name are shared by every use: compute those once. A literal
        // written in place has one use, so caching it would only cost memory.
        const value =
          r.expression === at.node || r.expression === unwrap(at.node as ts.Expression)
            ? this.computeExpression(r.expression, r.file, label)
            : this.evaluateExpression(r.expression, r.file, label);
        return (value.kind === 'job' || value.kind === 'image') && value.node !== at.node
          ? { ...value, node: at.node, file: at.file }
          : value;
      }
      case 'value':
        return r.value;
      case 'function':
        return { kind: 'function', fn: r.fn, node: r.fn, file: r.file };
      case 'sdk': {
        if (Object.hasOwn(SDK_DATA, r.name)) return fromPlain(SDK_DATA[r.name], r.node, r.file);
        return this.unknown(
          this.fail(
            { file: r.file, node: r.node },
            `\`${r.name}\` is a function of ${SDK_MODULE}, not a value`,
            'Call it, or write the value it describes as a literal.',
            ErrorCodes.analysisInvalidValue,
          ),
          label,
        );
      }
      case 'sdk-namespace':
      case 'module':
        return this.unknown(
          this.fail(
            { file: r.file, node: r.node },
            'is a module namespace, not a value',
            'Use one of its exports, for example `ns.name`.',
            ErrorCodes.analysisInvalidValue,
          ),
          label,
        );
      case 'missing':
        return this.unknown(
          this.fail(
            { file: r.at.file, node: accessedName(r.at.node) },
            `there is no property \`${r.key}\` to read.${didYouMean(r.key, r.keys, (s) => `\`${s}\``)}`,
            r.keys.length ? `The object has: ${r.keys.join(', ')}.` : 'Add the property to the object.',
            ErrorCodes.analysisInvalidValue,
          ),
          label,
        );
      case 'fail':
        return this.unknown(r, label);
    }
  }

  private unknown(failure: Failure, label: string): StaticValue {
    if (!failure.reported) {
      this.sink.error(failure.code, failure.at, `${label}: ${failure.message}`, failure.hint);
    }
    const node = typeof failure.at.node === 'number' ? failure.at.file.sf : failure.at.node;
    return { kind: 'unknown', node, file: failure.at.file };
  }

  private evaluateExpression(e: ts.Expression, file: SourceFileInfo, label: string): StaticValue {
    const cached = this.values.get(e);
    if (cached) return cached;
    const value = this.computeExpression(e, file, label);
    this.values.set(e, value);
    return value;
  }

  private computeExpression(e: ts.Expression, file: SourceFileInfo, label: string): StaticValue {
    const origin = { node: e, file };
    switch (e.kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
        return { kind: 'string', value: (e as ts.StringLiteral).text, ...origin };
      case ts.SyntaxKind.NumericLiteral:
        return { kind: 'number', value: Number((e as ts.NumericLiteral).text), ...origin };
      case ts.SyntaxKind.TrueKeyword:
        return { kind: 'boolean', value: true, ...origin };
      case ts.SyntaxKind.FalseKeyword:
        return { kind: 'boolean', value: false, ...origin };
      case ts.SyntaxKind.NullKeyword:
        return { kind: 'null', ...origin };
      case ts.SyntaxKind.ArrowFunction:
      case ts.SyntaxKind.FunctionExpression:
        return { kind: 'function', fn: e as ts.ArrowFunction, ...origin };
      case ts.SyntaxKind.PrefixUnaryExpression:
        return this.prefixUnary(e as ts.PrefixUnaryExpression, file, label);
      case ts.SyntaxKind.TemplateExpression:
        return this.template(e as ts.TemplateExpression, file, label);
      case ts.SyntaxKind.ArrayLiteralExpression:
        return this.array(e as ts.ArrayLiteralExpression, file, label);
      case ts.SyntaxKind.ObjectLiteralExpression:
        return this.object(e as ts.ObjectLiteralExpression, file, label);
      case ts.SyntaxKind.CallExpression:
        return this.call(e as ts.CallExpression, file, label);
      default:
        return this.unknown(this.notStatic(e, file), label);
    }
  }

  private prefixUnary(e: ts.PrefixUnaryExpression, file: SourceFileInfo, label: string): StaticValue {
    if (e.operator !== ts.SyntaxKind.MinusToken && e.operator !== ts.SyntaxKind.PlusToken) {
      return this.unknown(this.notStatic(e, file), label);
    }
    const operand = this.evaluate(e.operand, file, label);
    if (operand.kind === 'unknown') return operand;
    if (operand.kind !== 'number') return this.unknown(this.notStatic(e, file), label);
    return {
      kind: 'number',
      value: e.operator === ts.SyntaxKind.MinusToken ? -operand.value : operand.value,
      node: e,
      file,
    };
  }

  private template(e: ts.TemplateExpression, file: SourceFileInfo, label: string): StaticValue {
    let text = e.head.text;
    for (const span of e.templateSpans) {
      const part = this.evaluate(span.expression, file, label);
      if (part.kind === 'unknown') return part;
      if (part.kind !== 'string' && part.kind !== 'number' && part.kind !== 'boolean') {
        return this.unknown(
          this.fail(
            { file, node: span.expression },
            `${describeValue(part)} cannot be part of a template string here`,
            'Only strings, numbers and booleans can be substituted into static template strings.',
            ErrorCodes.analysisInvalidValue,
          ),
          label,
        );
      }
      text += String(part.value) + span.literal.text;
    }
    return { kind: 'string', value: text, node: e, file };
  }

  private array(e: ts.ArrayLiteralExpression, file: SourceFileInfo, label: string): StaticValue {
    const items: StaticValue[] = [];
    let partial = false;
    e.elements.forEach((element, index) => {
      if (ts.isSpreadElement(element)) {
        const spread = this.evaluate(element.expression, file, `${label}[…]`);
        if (spread.kind === 'array') {
          items.push(...spread.items);
          partial ||= spread.partial;
        } else if (spread.kind === 'unknown') partial = true;
        else {
          partial = true;
          this.sink.error(
            ErrorCodes.analysisInvalidValue,
            { file, node: element },
            `${label}: only arrays can be spread into an array, got ${describeValue(spread)}`,
            'Spread an array literal or a const array.',
          );
        }
      } else if (ts.isOmittedExpression(element)) {
        items.push({ kind: 'undefined', node: element, file });
      } else items.push(this.evaluate(element, file, `${label}[${index}]`));
    });
    return { kind: 'array', items, partial, node: e, file };
  }

  private object(e: ts.ObjectLiteralExpression, file: SourceFileInfo, label: string): StaticValue {
    const properties = new Map<string, StaticProperty>();
    let partial = false;
    for (const p of e.properties) {
      if (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) {
        const key = this.propertyKey(p.name, file, label);
        if (key === undefined) {
          partial = true;
          continue;
        }
        const value = ts.isPropertyAssignment(p)
          ? this.evaluate(p.initializer, file, `${label} › ${key}`)
          : this.evaluate(p.name, file, `${label} › ${key}`);
        properties.set(key, { key, keyNode: p.name, keyFile: file, value });
      } else if (ts.isSpreadAssignment(p)) {
        const spread = this.evaluate(p.expression, file, `${label} › …`);
        if (spread.kind === 'object') {
          for (const [key, property] of spread.properties) properties.set(key, property);
          partial ||= spread.partial;
        } else if (spread.kind === 'unknown') partial = true;
        else if (spread.kind !== 'null' && spread.kind !== 'undefined') {
          partial = true;
          this.sink.error(
            ErrorCodes.analysisInvalidValue,
            { file, node: p },
            `${label}: only objects can be spread into an object, got ${describeValue(spread)}`,
            'Spread an object literal or a const object.',
          );
        }
      } else {
        partial = true;
        this.sink.error(
          ErrorCodes.analysisNotStatic,
          { file, node: p },
          `${label}: methods and accessors are code, not static values`,
          HINT_LITERAL,
        );
      }
    }
    return { kind: 'object', properties, partial, node: e, file };
  }

  private propertyKey(name: ts.PropertyName, file: SourceFileInfo, label: string): string | undefined {
    if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
    if (ts.isNumericLiteral(name)) return String(Number(name.text));
    if (ts.isComputedPropertyName(name)) {
      const key = this.evaluate(name.expression, file, `${label} › [key]`);
      if (key.kind === 'string' || key.kind === 'number') return String(key.value);
      if (key.kind !== 'unknown') {
        this.sink.error(
          ErrorCodes.analysisInvalidValue,
          { file, node: name },
          `${label}: a computed key must be a string or a number, got ${describeValue(key)}`,
          'Write the key as a literal.',
        );
      }
      return undefined;
    }
    this.sink.error(
      ErrorCodes.analysisNotStatic,
      { file, node: name },
      `${label}: private names are not static keys`,
      HINT_LITERAL,
    );
    return undefined;
  }

  private call(e: ts.CallExpression, file: SourceFileInfo, label: string): StaticValue {
    const name = this.sdkCallee(e, file);
    if (name === undefined) return this.unknown(this.notStatic(e, file), label);
    if (!SDK_CALL_SET.has(name) || name === 'pipeline') {
      return this.unknown(
        this.fail(
          { file, node: e },
          name === 'pipeline'
            ? '`pipeline()` can only be the default export, not a value inside another pipeline'
            : `calls to \`${name}\` of ${SDK_MODULE} are not evaluated statically`,
          HINT_LITERAL,
        ),
        label,
      );
    }
    if (name === 'job') return { kind: 'job', call: e, callFile: file, node: e, file };
    if (name === 'image') return { kind: 'image', call: e, callFile: file, node: e, file };
    const args = this.callArguments(e, file, `${label} › ${name}()`);
    if (name === 'schedule') {
      const crons: StaticValue = { kind: 'array', items: args.values, partial: args.partial, node: e, file };
      return helperObject('schedule', crons, e, file);
    }
    const options: StaticValue = args.values[0] ?? {
      kind: 'object',
      properties: new Map(),
      partial: args.partial,
      node: e,
      file,
    };
    for (const extra of args.values.slice(1)) {
      this.sink.error(
        ErrorCodes.analysisInvalidValue,
        { file: extra.file, node: extra.node },
        `${label}: ${name}() takes one options object; this argument is ignored`,
        `Put every option of the trigger in the first argument: ${name}({ … }).`,
      );
    }
    return helperObject(name, options, e, file);
  }

  private callArguments(e: ts.CallExpression, file: SourceFileInfo, label: string) {
    const values: StaticValue[] = [];
    let partial = false;
    e.arguments.forEach((argument, index) => {
      if (ts.isSpreadElement(argument)) {
        const spread = this.evaluate(argument.expression, file, label);
        if (spread.kind === 'array') values.push(...spread.items);
        else partial = true;
        if (spread.kind !== 'array' && spread.kind !== 'unknown') {
          this.sink.error(
            ErrorCodes.analysisInvalidValue,
            { file, node: argument },
            `${label}: only arrays can be spread into arguments, got ${describeValue(spread)}`,
            'Spread an array literal or a const array.',
          );
        }
      } else values.push(this.evaluate(argument, file, `${label} argument ${index + 1}`));
    });
    return { values, partial };
  }

  private resolveIdentifier(id: ts.Identifier, file: SourceFileInfo, depth: number): Resolved {
    const d = lookup(id.text, id);
    if (!d) {
      if (id.text === 'undefined') return { kind: 'value', value: { kind: 'undefined', node: id, file } };
      return this.undeclared(id, file);
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
        if (!init) return this.fail(at, `\`${name}\` has no initializer`, HINT_LITERAL);
        if (checkOrder && usedBeforeDeclaration(ref, d.declaration)) {
          return this.fail(
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
        if (this.sink === this.realSink) this.imports.set(d, resolved);
        return resolved;
      }
      case 'function':
        return { kind: 'function', fn: d.declaration, file };
      case 'let':
      case 'var':
        return this.fail(
          at,
          `\`${name}\` is declared with \`${d.kind}\`, so its value may change before it is used`,
          `Declare \`${name}\` with \`const\` and a literal value.`,
        );
      case 'using':
        return this.fail(at, `\`${name}\` is a \`using\` resource`, HINT_LITERAL);
      case 'parameter':
        return this.fail(at, `\`${name}\` is a function parameter, known only at run time`, HINT_MATRIX);
      case 'loop':
        return this.fail(at, `\`${name}\` is a loop variable, known only at run time`, HINT_MATRIX);
      case 'catch':
        return this.fail(at, `\`${name}\` is a caught error, known only at run time`, HINT_LITERAL);
      case 'class':
      case 'enum':
        return this.fail(
          at,
          `\`${name}\` is ${d.kind === 'class' ? 'a class' : 'an enum'}, not a static value`,
          HINT_LITERAL,
        );
      case 'pattern':
        return this.fail(
          at,
          `\`${name}\` comes from a destructuring rest element or default value`,
          'Destructure without defaults or rest elements, or use a property access (`config.name`).',
        );
      case 'type-import':
        return this.fail(at, `\`${name}\` is a type-only import, not a value`, 'Import the value itself.');
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
        return this.fail(
          at,
          `${SDK_MODULE} has no export named \`${d.imported}\`.${didYouMean(d.imported, SDK_EXPORTS, (s) => `\`${s}\``)}`,
          `Import it by name: import { ${d.imported === 'default' ? 'pipeline' : d.imported} } from '${SDK_MODULE}'.`,
          ErrorCodes.analysisInvalidValue,
        );
      }
      return { kind: 'sdk', name: d.imported, node: d.node, file };
    }
    if (!isRelativeSpecifier(d.specifier)) {
      return this.fail(
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
    const failure = this.fail(
      { file, node },
      `cannot read "${specifier}": ${loaded.reason}`,
      'Check the import path; the analyzer reads the project files that hiveforge.ts imports with relative paths.',
      ErrorCodes.analysisSource,
    );
    this.realSink.error(failure.code, failure.at, failure.message, failure.hint);
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
          if (!d) return this.undeclared(entry.node, target, entry.local);
          return this.resolveDeclaration(d, entry.local, entry.node, target, depth + 1, false);
        }
        case 'expression':
          return this.resolve(entry.expression, target, depth + 1);
        case 'declaration':
          return ts.isFunctionDeclaration(entry.node)
            ? { kind: 'function', fn: entry.node, file: target }
            : this.fail(at, 'the default export is a class, not a static value', HINT_LITERAL);
        case 're-export':
        case 'namespace': {
          if (entry.specifier === SDK_MODULE) {
            if (entry.kind === 'namespace') return { kind: 'sdk-namespace', node: entry.node, file: target };
            return SDK_EXPORTS.has(entry.imported)
              ? { kind: 'sdk', name: entry.imported, node: entry.node, file: target }
              : this.fail(
                  at,
                  `${SDK_MODULE} has no export named \`${entry.imported}\``,
                  'Check the name.',
                  ErrorCodes.analysisInvalidValue,
                );
          }
          if (!isRelativeSpecifier(entry.specifier)) {
            return this.fail(
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
          return this.fail(
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
          return this.valueMember(this.evaluateExpression(e, base.file, `\`${snippet(node, file.sf)}\``), name, at);
        }
        break;
      }
    }
    return this.fail(at, `\`${snippet(node, file.sf)}\` is not a static value`, HINT_LITERAL);
  }

  private valueMember(value: StaticValue, key: string, at: Located): Resolved {
    if (value.kind === 'unknown') return { ...this.fail(at, 'is not static'), reported: true };
    if (value.kind === 'object') {
      const p = value.properties.get(key);
      if (p) return { kind: 'value', value: p.value };
      if (value.partial) return this.fail(at, `\`${key}\` may come from a spread that is not static`, HINT_LITERAL);
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
    return this.fail(at, `cannot read \`${key}\` of ${describeValue(value)} statically`, HINT_LITERAL);
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
        return this.valueMember(this.evaluateExpression(e, file, `\`${snippet(e, file.sf)}\``), key, at);
      }
      const text = ts.isNumericLiteral(name)
        ? String(Number(name.text))
        : ts.isPrivateIdentifier(name)
          ? undefined
          : name.text;
      if (text !== key) continue;
      if (ts.isPropertyAssignment(p)) return this.resolve(p.initializer, file, depth + 1);
      if (ts.isShorthandPropertyAssignment(p)) return this.resolve(p.name, file, depth + 1);
      return this.fail({ file, node: p }, `\`${key}\` is a method or accessor, not a static value`, HINT_LITERAL);
    }
    const keys = e.properties.flatMap((p) =>
      p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? [p.name.text] : [],
    );
    return { kind: 'missing', key, keys, at };
  }

  private undeclared(node: ts.Node, file: SourceFileInfo, name = node.getText(file.sf)): Failure {
    let outer: ts.Node = node;
    while (
      outer.parent &&
      (ts.isPropertyAccessExpression(outer.parent) || ts.isElementAccessExpression(outer.parent)) &&
      outer.parent.expression === outer
    ) {
      outer = outer.parent;
    }
    const text = snippet(outer, file.sf);
    if (name === 'process') {
      return this.fail({ file, node }, `\`${text}\` is read from the process environment at run time`, HINT_ENV);
    }
    return this.fail(
      { file, node },
      `\`${name}\` is not declared in this file (a global or an undeclared name), so \`${text}\` is only known at run time`,
      HINT_LITERAL,
    );
  }

  private notStatic(e: ts.Expression, file: SourceFileInfo): Failure {
    const text = snippet(e, file.sf);
    const at = { file, node: e };
    if (ts.isCallExpression(e) || ts.isTaggedTemplateExpression(e)) {
      return this.fail(at, `\`${text}\` is a function call, so its value is only known at run time`, HINT_LITERAL);
    }
    if (ts.isNewExpression(e)) return this.fail(at, `\`${text}\` creates an object at run time`, HINT_LITERAL);
    if (ts.isConditionalExpression(e) || (ts.isBinaryExpression(e) && isLogical(e.operatorToken.kind))) {
      return this.fail(
        at,
        `\`${text}\` chooses a value at run time`,
        'Write a single literal here. To run a job only on some branches or events, use its `if` option.',
      );
    }
    if (ts.isBinaryExpression(e) || ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) {
      return this.fail(at, `\`${text}\` is computed at run time`, 'Write the resulting value as a literal.');
    }
    if (ts.isAwaitExpression(e)) return this.fail(at, `\`${text}\` awaits a value at run time`, HINT_LITERAL);
    return this.fail(at, `\`${text}\` is not a static value`, HINT_LITERAL);
  }

  private fail(
    at: Located,
    message: string,
    hint: string = HINT_LITERAL,
    code: ErrorCode = ErrorCodes.analysisNotStatic,
  ): Failure {
    return { kind: 'fail', at, message, hint, code };
  }
}

function isLogical(kind: ts.SyntaxKind): boolean {
  return (
    kind === ts.SyntaxKind.AmpersandAmpersandToken ||
    kind === ts.SyntaxKind.BarBarToken ||
    kind === ts.SyntaxKind.QuestionQuestionToken
  );
}

/** The property name of an access (`retires` in `config.retires`), for pointing at typos. */
function accessedName(node: ts.Node | number): ts.Node | number {
  if (typeof node === 'number') return node;
  if (ts.isPropertyAccessExpression(node)) return node.name;
  if (ts.isElementAccessExpression(node)) return node.argumentExpression;
  return node;
}

function lineOf(file: SourceFileInfo, node: ts.Node): number {
  return file.sf.getLineAndCharacterOfPosition(node.getStart(file.sf)).line + 1;
}

/**
 * True when evaluating `ref` would hit the temporal dead zone of `declaration`: the point where
 * the reference runs comes before the declaration completes. A reference inside a function
 * passed inline to a call (the pipeline's build function) runs when that call runs.
 */
function usedBeforeDeclaration(ref: ts.Node, declaration: ts.VariableDeclaration): boolean {
  const declarationFunction = enclosingFunction(declaration);
  let point: ts.Node = ref;
  for (;;) {
    const fn = enclosingFunction(point);
    if (fn === declarationFunction) return point.pos < declaration.end;
    if (!fn || !(ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) || !ts.isCallExpression(fn.parent))
      return false;
    point = fn.parent;
  }
}

function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | undefined {
  for (let p = node.parent; p; p = p.parent) if (isFunctionLike(p)) return p;
  return undefined;
}

function helperObject(key: string, value: StaticValue, call: ts.CallExpression, file: SourceFileInfo): StaticValue {
  const properties = new Map<string, StaticProperty>([[key, { key, keyNode: call.expression, keyFile: file, value }]]);
  return { kind: 'object', properties, partial: false, node: call, file };
}

/** Turns plain data (the SDK's exported constants) into a static value located at `node`. */
function fromPlain(value: unknown, node: ts.Node, file: SourceFileInfo): StaticValue {
  if (typeof value === 'string') return { kind: 'string', value, node, file };
  if (typeof value === 'number') return { kind: 'number', value, node, file };
  if (typeof value === 'boolean') return { kind: 'boolean', value, node, file };
  if (value === null) return { kind: 'null', node, file };
  if (Array.isArray(value)) {
    return { kind: 'array', items: value.map((v) => fromPlain(v, node, file)), partial: false, node, file };
  }
  if (typeof value === 'object') {
    const properties = new Map<string, StaticProperty>();
    for (const [key, v] of Object.entries(value)) {
      properties.set(key, { key, keyNode: node, keyFile: file, value: fromPlain(v, node, file) });
    }
    return { kind: 'object', properties, partial: false, node, file };
  }
  return { kind: 'undefined', node, file };
}
