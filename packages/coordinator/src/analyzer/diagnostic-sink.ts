import type { ErrorCode } from '@hiveforge/sdk';
import type { ts } from 'ts-morph';
import type { Diagnostic } from './diagnostics.js';
import type { SourceFileInfo } from './source-host.js';

/** A place in a parsed file: a node, or a raw character position. */
export interface Located {
  file: SourceFileInfo;
  node: ts.Node | number;
}

/** The 1-based line and column of a node (its first token, not its leading trivia). */
export function positionOf(at: Located): { line: number; column: number } {
  const { sf } = at.file;
  const pos = typeof at.node === 'number' ? at.node : at.node.getStart(sf);
  const { line, character } = sf.getLineAndCharacterOfPosition(pos);
  return { line: line + 1, column: character + 1 };
}

/** The source text of a node on one line, shortened for messages. */
export function snippet(node: ts.Node, sf: ts.SourceFile, max = 60): string {
  const text = node.getText(sf).replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Collects diagnostics of one analysis, dropping exact repeats. */
export class DiagnosticSink {
  readonly diagnostics: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  private errorCount = 0;

  get errors(): number {
    return this.errorCount;
  }

  error(code: ErrorCode, at: Located, message: string, hint: string): void {
    this.add(code, 'error', at, message, hint);
  }

  warning(code: ErrorCode, at: Located, message: string, hint: string): void {
    this.add(code, 'warning', at, message, hint);
  }

  /** A diagnostic at line 1, column 1 of a file that may not exist. */
  fileError(code: ErrorCode, file: string, message: string, hint: string): void {
    this.push({ code, severity: 'error', message, hint, file, line: 1, column: 1 });
  }

  private add(code: ErrorCode, severity: Diagnostic['severity'], at: Located, message: string, hint: string): void {
    const { line, column } = positionOf(at);
    this.push({ code, severity, message, hint, file: at.file.rel, line, column });
  }

  private push(d: Diagnostic): void {
    const key = `${d.code}\0${d.file}\0${d.line}\0${d.column}\0${d.message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (d.severity === 'error') this.errorCount++;
    this.diagnostics.push(d);
  }

  /** Diagnostics ordered by file, line and column (entry file first). */
  sorted(entry: string): Diagnostic[] {
    return [...this.diagnostics].sort(
      (a, b) =>
        Number(b.file === entry) - Number(a.file === entry) ||
        (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
        a.line - b.line ||
        a.column - b.column,
    );
  }
}
