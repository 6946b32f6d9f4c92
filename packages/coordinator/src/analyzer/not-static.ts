import { ts } from 'ts-morph';
import { snippet } from './diagnostic-sink.js';
import { type Failure, HINT_ENV, HINT_LITERAL, fail } from './resolution.js';
import type { SourceFileInfo } from './source-host.js';
import { isLogical } from './syntax.js';

/**
 * Why a name that is declared nowhere in scope (a global, `process.env.X`) cannot be read
 * statically, pointing at `node` and quoting the whole access it is the base of.
 */
export function undeclared(node: ts.Node, file: SourceFileInfo, name = node.getText(file.sf)): Failure {
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
    return fail({ file, node }, `\`${text}\` is read from the process environment at run time`, HINT_ENV);
  }
  return fail(
    { file, node },
    `\`${name}\` is not declared in this file (a global or an undeclared name), so \`${text}\` is only known at run time`,
    HINT_LITERAL,
  );
}

/** Why an expression that is not a literal (a call, a condition, arithmetic...) is not static. */
export function notStatic(e: ts.Expression, file: SourceFileInfo): Failure {
  const text = snippet(e, file.sf);
  const at = { file, node: e };
  if (ts.isCallExpression(e) || ts.isTaggedTemplateExpression(e)) {
    return fail(at, `\`${text}\` is a function call, so its value is only known at run time`, HINT_LITERAL);
  }
  if (ts.isNewExpression(e)) return fail(at, `\`${text}\` creates an object at run time`, HINT_LITERAL);
  if (ts.isConditionalExpression(e) || (ts.isBinaryExpression(e) && isLogical(e.operatorToken.kind))) {
    return fail(
      at,
      `\`${text}\` chooses a value at run time`,
      'Write a single literal here. To run a job only on some branches or events, use its `if` option.',
    );
  }
  if (ts.isBinaryExpression(e) || ts.isPrefixUnaryExpression(e) || ts.isPostfixUnaryExpression(e)) {
    return fail(at, `\`${text}\` is computed at run time`, 'Write the resulting value as a literal.');
  }
  if (ts.isAwaitExpression(e)) return fail(at, `\`${text}\` awaits a value at run time`, HINT_LITERAL);
  return fail(at, `\`${text}\` is not a static value`, HINT_LITERAL);
}
