import type { ts } from 'ts-morph';
import type { DiagnosticSink } from './diagnostic-sink.js';
import type { Failure, Resolved } from './resolution.js';
import type { SourceFileInfo } from './source-host.js';
import type { StaticValue } from './static-value.js';

/**
 * What the parts of the static evaluator ask of the whole: the {@link NameResolver} evaluates
 * an index or an object it passes through, the {@link ExpressionReader} resolves the names
 * inside a literal. The `Evaluator` implements it; the parts depend on this interface only, so
 * the evaluator's files import each other in one direction.
 */
export interface Evaluation {
  /** Where diagnostics go now: the analysis' sink, or a discarding one while a callee is looked up. */
  readonly sink: DiagnosticSink;
  /** True while diagnostics are discarded: what is computed then must not be kept for the analysis. */
  readonly quiet: boolean;
  /** Evaluates an expression in a structural position; anything not static is reported once. */
  evaluate(expression: ts.Expression, file: SourceFileInfo, label: string): StaticValue;
  /** The value of an expression reached through a name, read once per analysis. */
  evaluateExpression(e: ts.Expression, file: SourceFileInfo, label: string): StaticValue;
  /** Resolves an expression to where its value is written, without reporting anything. */
  resolve(expression: ts.Expression, file: SourceFileInfo, depth?: number): Resolved;
  /** The SDK function a call invokes, if any. */
  sdkCallee(call: ts.CallExpression, file: SourceFileInfo): string | undefined;
  /** Reports `failure` (unless it already was) under `label` and returns an `unknown` value. */
  unknown(failure: Failure, label: string): StaticValue;
}
