import { ErrorCodes } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import { DiagnosticSink, type Located } from './diagnostic-sink.js';
import type { Evaluation } from './evaluation.js';
import { ExpressionReader } from './expression-reader.js';
import { NameResolver } from './name-resolver.js';
import { type Failure, type Resolved, fail } from './resolution.js';
import { lookup } from './scope.js';
import { SDK_DATA, SDK_MODULE } from './sdk-module.js';
import { type SourceFileInfo, type SourceHost, isRelativeSpecifier } from './source-host.js';
import { type StaticValue, fromPlain } from './static-value.js';
import { didYouMean } from './suggest.js';
import { accessedName, unwrap } from './syntax.js';

/**
 * Reads expressions in structural positions as static values: literals, `const` bindings in
 * scope or imported from local files (through re-exports), property accesses on them, spreads,
 * and the SDK's descriptive calls. It never runs code and never uses the type checker: names
 * are resolved by walking the scopes of the syntax tree ({@link NameResolver}), values read by
 * the {@link ExpressionReader}. One evaluator serves one analysis.
 */
export class Evaluator implements Evaluation {
  private values = new Map<ts.Node, StaticValue>();
  private currentSink: DiagnosticSink;
  private readonly names: NameResolver;
  private readonly expressions: ExpressionReader;

  constructor(
    host: SourceHost,
    private readonly realSink: DiagnosticSink,
  ) {
    this.currentSink = realSink;
    this.names = new NameResolver(this, host, realSink);
    this.expressions = new ExpressionReader(this);
  }

  /** Where diagnostics go now: the analysis' sink, or a discarding one while a callee is looked up. */
  get sink(): DiagnosticSink {
    return this.currentSink;
  }

  /** True while diagnostics are discarded. */
  get quiet(): boolean {
    return this.currentSink !== this.realSink;
  }

  /** Runs `fn` with diagnostics discarded and a private value cache (for callee lookups). */
  private quietly<T>(fn: () => T): T {
    const { currentSink, values } = this;
    this.currentSink = new DiagnosticSink();
    this.values = new Map();
    try {
      return fn();
    } finally {
      this.currentSink = currentSink;
      this.values = values;
    }
  }

  /** Reports the syntax errors of a file the first time this analysis reads it. */
  noteFile(file: SourceFileInfo): void {
    this.names.noteFile(file);
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
    return this.names.resolve(expression, file, depth);
  }

  /** Resolves `export`ed `name` of a file, following re-exports. */
  resolveExport(target: SourceFileInfo, name: string, at: Located, depth: number): Resolved {
    return this.names.resolveExport(target, name, at, depth);
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
            ? this.expressions.read(r.expression, r.file, label)
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
          fail(
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
          fail(
            { file: r.file, node: r.node },
            'is a module namespace, not a value',
            'Use one of its exports, for example `ns.name`.',
            ErrorCodes.analysisInvalidValue,
          ),
          label,
        );
      case 'missing':
        return this.unknown(
          fail(
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

  /** Reports `failure` (unless it already was) under `label` and returns an `unknown` value at its position. */
  unknown(failure: Failure, label: string): StaticValue {
    if (!failure.reported) {
      this.sink.error(failure.code, failure.at, `${label}: ${failure.message}`, failure.hint);
    }
    const node = typeof failure.at.node === 'number' ? failure.at.file.sf : failure.at.node;
    return { kind: 'unknown', node, file: failure.at.file };
  }

  /** The value of an expression reached through a name, read once per analysis. */
  evaluateExpression(e: ts.Expression, file: SourceFileInfo, label: string): StaticValue {
    const cached = this.values.get(e);
    if (cached) return cached;
    const value = this.expressions.read(e, file, label);
    this.values.set(e, value);
    return value;
  }
}
