import { ts } from 'ts-morph';

/**
 * True when evaluating `ref` would hit the temporal dead zone of `declaration`: the point where
 * the reference runs comes before the declaration completes. A reference inside a function
 * passed inline to a call (the pipeline's build function) runs when that call runs.
 */
export function usedBeforeDeclaration(ref: ts.Node, declaration: ts.VariableDeclaration): boolean {
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

/** The innermost function a node is in, if any. */
export function enclosingFunction(node: ts.Node): ts.SignatureDeclaration | undefined {
  for (let p = node.parent; p; p = p.parent) if (isFunctionLike(p)) return p;
  return undefined;
}

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
