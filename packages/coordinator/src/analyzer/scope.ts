import { ts } from 'ts-morph';

/** One step into a destructuring pattern: a property name or an array index. */
export type BindingStep = string | number;

/**
 * What a name refers to at some point of a file, found by walking the enclosing scopes of the
 * syntax tree. Only the shapes the analyzer can read (`const`, imports, function declarations)
 * carry details; the others only say why their value is unknown before run time.
 */
export type Declaration =
  | { kind: 'const'; declaration: ts.VariableDeclaration; path: readonly BindingStep[] }
  | { kind: 'import'; declaration: ts.ImportDeclaration; imported: string; specifier: string; node: ts.Node }
  | { kind: 'function'; declaration: ts.FunctionDeclaration | ts.FunctionExpression }
  | {
      kind: 'let' | 'var' | 'using' | 'parameter' | 'loop' | 'catch' | 'class' | 'enum' | 'pattern' | 'type-import';
      node: ts.Node;
    };

type Scope = Map<string, Declaration>;

/** The scope of nodes that declare nothing; never added to. Process-wide: it holds nothing. */
const EMPTY: Scope = new Map();
/**
 * The scope of each scope node, built once per syntax tree. Deliberately process-wide: a memo
 * of a pure function of immutable syntax trees, held weakly (it goes with its tree), so no
 * analysis can see another's.
 */
const scopes = new WeakMap<ts.Node, Scope>();

/** Finds the declaration a name refers to at `from`, or undefined for globals and undeclared names. */
export function lookup(name: string, from: ts.Node): Declaration | undefined {
  for (let node: ts.Node | undefined = from.parent; node; node = node.parent) {
    if (!SCOPE_KINDS.has(node.kind)) continue;
    const found = scopeOf(node).get(name);
    if (found) return found;
  }
  return undefined;
}

// Only these nodes introduce names; skipping the others keeps lookups cheap.
const SCOPE_KINDS: ReadonlySet<ts.SyntaxKind> = new Set([
  ts.SyntaxKind.SourceFile,
  ts.SyntaxKind.Block,
  ts.SyntaxKind.ModuleBlock,
  ts.SyntaxKind.CaseClause,
  ts.SyntaxKind.DefaultClause,
  ts.SyntaxKind.ArrowFunction,
  ts.SyntaxKind.FunctionExpression,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.MethodDeclaration,
  ts.SyntaxKind.Constructor,
  ts.SyntaxKind.GetAccessor,
  ts.SyntaxKind.SetAccessor,
  ts.SyntaxKind.ForStatement,
  ts.SyntaxKind.ForOfStatement,
  ts.SyntaxKind.ForInStatement,
  ts.SyntaxKind.CatchClause,
]);

/** The top-level declaration of `name` in a file. */
export function lookupTopLevel(name: string, sf: ts.SourceFile): Declaration | undefined {
  return scopeOf(sf).get(name);
}

function scopeOf(node: ts.Node): Scope {
  const cached = scopes.get(node);
  if (cached) return cached;
  const scope = buildScope(node);
  scopes.set(node, scope);
  return scope;
}

function buildScope(node: ts.Node): Scope {
  if (
    ts.isSourceFile(node) ||
    ts.isBlock(node) ||
    ts.isModuleBlock(node) ||
    ts.isCaseClause(node) ||
    ts.isDefaultClause(node)
  ) {
    return statementsScope(node.statements);
  }
  if (
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  ) {
    const scope: Scope = new Map();
    for (const parameter of node.parameters) bindAll(parameter.name, scope, { kind: 'parameter', node: parameter });
    if (ts.isFunctionExpression(node) && node.name && !scope.has(node.name.text)) {
      scope.set(node.name.text, { kind: 'function', declaration: node });
    }
    return scope.size ? scope : EMPTY;
  }
  if (ts.isForStatement(node) || ts.isForOfStatement(node) || ts.isForInStatement(node)) {
    const init = node.initializer;
    if (!init || !ts.isVariableDeclarationList(init)) return EMPTY;
    const scope: Scope = new Map();
    for (const d of init.declarations) bindAll(d.name, scope, { kind: 'loop', node: d });
    return scope;
  }
  if (ts.isCatchClause(node) && node.variableDeclaration) {
    const scope: Scope = new Map();
    bindAll(node.variableDeclaration.name, scope, { kind: 'catch', node: node.variableDeclaration });
    return scope;
  }
  return EMPTY;
}

function statementsScope(statements: ts.NodeArray<ts.Statement>): Scope {
  const scope: Scope = new Map();
  for (const statement of statements) {
    if (ts.isVariableStatement(statement)) {
      const list = statement.declarationList;
      const kind = variableKind(list.flags);
      for (const declaration of list.declarations) {
        if (kind === 'const') bindConst(declaration.name, [], declaration, scope);
        else bindAll(declaration.name, scope, { kind, node: declaration });
      }
    } else if (ts.isFunctionDeclaration(statement)) {
      if (statement.name) scope.set(statement.name.text, { kind: 'function', declaration: statement });
    } else if (ts.isClassDeclaration(statement)) {
      if (statement.name) scope.set(statement.name.text, { kind: 'class', node: statement });
    } else if (ts.isEnumDeclaration(statement)) {
      scope.set(statement.name.text, { kind: 'enum', node: statement });
    } else if (ts.isImportDeclaration(statement)) {
      bindImport(statement, scope);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      scope.set(statement.name.text, { kind: 'type-import', node: statement });
    }
  }
  return scope;
}

function variableKind(flags: ts.NodeFlags): 'const' | 'let' | 'var' | 'using' {
  const blockScoped = flags & ts.NodeFlags.BlockScoped;
  if (blockScoped === ts.NodeFlags.Const) return 'const';
  if (blockScoped === ts.NodeFlags.Let) return 'let';
  if (blockScoped === 0) return 'var';
  return 'using';
}

function bindImport(statement: ts.ImportDeclaration, scope: Scope): void {
  const clause = statement.importClause;
  if (!clause || !ts.isStringLiteral(statement.moduleSpecifier)) return;
  const specifier = statement.moduleSpecifier.text;
  const typeOnly = clause.isTypeOnly;
  const add = (local: ts.Identifier, imported: string, node: ts.Node, elementTypeOnly = false) => {
    scope.set(
      local.text,
      typeOnly || elementTypeOnly
        ? { kind: 'type-import', node }
        : { kind: 'import', declaration: statement, imported, specifier, node },
    );
  };
  if (clause.name) add(clause.name, 'default', clause.name);
  const bindings = clause.namedBindings;
  if (!bindings) return;
  if (ts.isNamespaceImport(bindings)) {
    add(bindings.name, '*', bindings);
    return;
  }
  for (const element of bindings.elements) {
    const imported = element.propertyName ?? element.name;
    add(element.name, imported.text, element, element.isTypeOnly);
  }
}

/** Binds every name of a `const` pattern, remembering the path into the initializer. */
function bindConst(name: ts.BindingName, path: BindingStep[], declaration: ts.VariableDeclaration, scope: Scope): void {
  if (ts.isIdentifier(name)) {
    scope.set(name.text, { kind: 'const', declaration, path });
    return;
  }
  if (ts.isObjectBindingPattern(name)) {
    for (const element of name.elements) {
      const key = element.propertyName ?? element.name;
      const keyText =
        ts.isIdentifier(key) || ts.isStringLiteral(key) || ts.isNumericLiteral(key) ? key.text : undefined;
      if (element.dotDotDotToken || element.initializer || keyText === undefined) {
        bindAll(element.name, scope, { kind: 'pattern', node: element });
      } else bindConst(element.name, [...path, keyText], declaration, scope);
    }
    return;
  }
  name.elements.forEach((element, index) => {
    if (ts.isOmittedExpression(element)) return;
    if (element.dotDotDotToken || element.initializer) bindAll(element.name, scope, { kind: 'pattern', node: element });
    else bindConst(element.name, [...path, index], declaration, scope);
  });
}

function bindAll(name: ts.BindingName, scope: Scope, declaration: Declaration): void {
  if (ts.isIdentifier(name)) {
    scope.set(name.text, declaration);
    return;
  }
  for (const element of name.elements) {
    if (!ts.isOmittedExpression(element)) bindAll(element.name, scope, declaration);
  }
}

/** How a file exports one name. */
export type ExportEntry =
  /** `export const x`, `export function f`, `export { a as b }`: the local declaration named `local`. */
  | { kind: 'local'; local: string; node: ts.Node }
  /** `export default <expression>`. */
  | { kind: 'expression'; expression: ts.Expression }
  /** `export default function …` / `export default class …`. */
  | { kind: 'declaration'; node: ts.FunctionDeclaration | ts.ClassDeclaration }
  /** `export { a as b } from './x'`. */
  | { kind: 're-export'; specifier: string; imported: string; node: ts.Node }
  /** `export * as ns from './x'`. */
  | { kind: 'namespace'; specifier: string; node: ts.Node };

/** The exports of a file: its named exports and the targets of its `export * from` clauses. */
export interface ExportTable {
  named: Map<string, ExportEntry>;
  stars: { specifier: string; node: ts.Node }[];
}

/** The export table of each file, built once per syntax tree: process-wide like `scopes`. */
const exportTables = new WeakMap<ts.SourceFile, ExportTable>();

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node)?.some((m) => m.kind === kind) ?? false);

/** The export table of a file, built once per syntax tree. */
export function exportsOf(sf: ts.SourceFile): ExportTable {
  const cached = exportTables.get(sf);
  if (cached) return cached;
  const table: ExportTable = { named: new Map(), stars: [] };
  for (const statement of sf.statements) {
    if (ts.isExportAssignment(statement)) {
      if (!statement.isExportEquals)
        table.named.set('default', { kind: 'expression', expression: statement.expression });
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly) continue;
      const specifier =
        statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
          ? statement.moduleSpecifier.text
          : undefined;
      const clause = statement.exportClause;
      if (!clause) {
        if (specifier !== undefined) table.stars.push({ specifier, node: statement });
      } else if (ts.isNamespaceExport(clause)) {
        if (specifier !== undefined) table.named.set(clause.name.text, { kind: 'namespace', specifier, node: clause });
      } else {
        for (const element of clause.elements) {
          if (element.isTypeOnly) continue;
          const local = (element.propertyName ?? element.name).text;
          table.named.set(
            element.name.text,
            specifier === undefined
              ? { kind: 'local', local, node: element }
              : { kind: 're-export', specifier, imported: local, node: element },
          );
        }
      }
    } else if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      const isDefault = hasModifier(statement, ts.SyntaxKind.DefaultKeyword);
      if (ts.isVariableStatement(statement)) {
        for (const d of statement.declarationList.declarations) exportBindingNames(d.name, table, d);
      } else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) {
        if (isDefault) table.named.set('default', { kind: 'declaration', node: statement });
        else if (statement.name)
          table.named.set(statement.name.text, { kind: 'local', local: statement.name.text, node: statement });
      } else if (ts.isEnumDeclaration(statement)) {
        table.named.set(statement.name.text, { kind: 'local', local: statement.name.text, node: statement });
      }
    }
  }
  exportTables.set(sf, table);
  return table;
}

function exportBindingNames(name: ts.BindingName, table: ExportTable, node: ts.Node): void {
  if (ts.isIdentifier(name)) {
    table.named.set(name.text, { kind: 'local', local: name.text, node });
    return;
  }
  for (const element of name.elements) {
    if (!ts.isOmittedExpression(element)) exportBindingNames(element.name, table, node);
  }
}
