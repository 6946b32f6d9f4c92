import { ts } from 'ts-morph';
import type { SourceFileInfo } from './source-host.js';

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

/** True for `&&`, `||` and `??`. */
export function isLogical(kind: ts.SyntaxKind): boolean {
  return (
    kind === ts.SyntaxKind.AmpersandAmpersandToken ||
    kind === ts.SyntaxKind.BarBarToken ||
    kind === ts.SyntaxKind.QuestionQuestionToken
  );
}

/** The property name of an access (`retires` in `config.retires`), for pointing at typos. */
export function accessedName(node: ts.Node | number): ts.Node | number {
  if (typeof node === 'number') return node;
  if (ts.isPropertyAccessExpression(node)) return node.name;
  if (ts.isElementAccessExpression(node)) return node.argumentExpression;
  return node;
}

/** The 1-based line a node starts on. */
export function lineOf(file: SourceFileInfo, node: ts.Node): number {
  return file.sf.getLineAndCharacterOfPosition(node.getStart(file.sf)).line + 1;
}
