import { type ErrorCode, ErrorCodes } from '@hiveforge/sdk';
import type { ts } from 'ts-morph';
import type { Located } from './diagnostic-sink.js';
import type { SourceFileInfo } from './source-host.js';
import type { StaticValue } from './static-value.js';

/** Why a value cannot be read statically. `reported` when a diagnostic was already issued. */
export interface Failure {
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

/** How many constants, imports and property accesses one resolution may follow. */
export const MAX_DEPTH = 64;

/** The hint of most "not static" diagnostics. */
export const HINT_LITERAL =
  'Structural options are read without running code: write a literal, or a `const` initialized with one (in this file or a local file it imports).';
/** The hint for values read from the environment. */
export const HINT_ENV =
  'Structural options are read without running code. Write the value as a literal here and read environment variables inside the job body.';
/** The hint for values that vary at run time, which a matrix or an `if` expresses statically. */
export const HINT_MATRIX =
  'To declare variations of a job, give it a `matrix`; to run it only sometimes, give it an `if`.';

/** A {@link Failure} at `at`, reported as HF_ANALYSIS_NOT_STATIC unless `code` says otherwise. */
export function fail(
  at: Located,
  message: string,
  hint: string = HINT_LITERAL,
  code: ErrorCode = ErrorCodes.analysisNotStatic,
): Failure {
  return { kind: 'fail', at, message, hint, code };
}
