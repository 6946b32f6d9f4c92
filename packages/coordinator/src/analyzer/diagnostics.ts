import { type ErrorCode, ErrorCodes, HiveForgeError } from '@hiveforge/sdk';

/** One finding of the static analyzer, pointing at the offending source. */
export interface Diagnostic {
  /** The stable code of the finding (`HF_ANALYSIS_*`). */
  code: ErrorCode;
  /** Errors make the analysis fail; warnings do not. */
  severity: 'error' | 'warning';
  /** What is wrong, naming the job, option or value concerned. */
  message: string;
  /** What to do about it. */
  hint: string;
  /** The file, relative to the project root, with `/` separators. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column (UTF-16 code units). */
  column: number;
}

/**
 * Formats a diagnostic the way compilers do, so editors and terminals can link to it.
 * @example formatDiagnostic(d) // "hiveforge.ts:4:12 error HF_ANALYSIS_CYCLE: …\n  hint: …"
 */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.severity} ${d.code}: ${d.message}\n  hint: ${d.hint}`;
}

const SUMMARY_LIMIT = 5;

/** A pipeline failed static analysis. `diagnostics` holds every finding, errors and warnings. */
export class AnalysisFailedError extends HiveForgeError {
  readonly code = ErrorCodes.analysisFailed;
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[], options: { cause?: unknown } = {}) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const shown = errors
      .slice(0, SUMMARY_LIMIT)
      .map((d) => `  ${d.file}:${d.line}:${d.column} ${d.code}: ${d.message}`);
    const more = errors.length > SUMMARY_LIMIT ? [`  … and ${errors.length - SUMMARY_LIMIT} more`] : [];
    super(
      [`pipeline analysis failed with ${errors.length} error${errors.length === 1 ? '' : 's'}`, ...shown, ...more].join(
        '\n',
      ),
      options,
    );
    this.diagnostics = diagnostics;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), diagnostics: this.diagnostics };
  }
}
