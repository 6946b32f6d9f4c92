import { ErrorCodes } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import type { DiagnosticSink } from './diagnostic-sink.js';
import type { SourceFileInfo } from './source-host.js';
import { unwrap } from './syntax.js';
import { didYouMean } from './suggest.js';

/** What {@link checkSecretReads} looks at: one job's body and the secrets it declares. */
export interface SecretReadsInput {
  /** The job's body argument (the last argument of `job()`). */
  body: ts.Expression;
  file: SourceFileInfo;
  /** The job's name, for messages. */
  job: string;
  /** The names in the job's `secrets` option. */
  declared: readonly string[];
  sink: DiagnosticSink;
}

/**
 * Reports, at the name, each read of a secret the job does not declare: `ctx.secrets.NAME`,
 * `ctx.secrets['NAME']`, and `secrets.NAME` when the body destructures `{ secrets }` (or
 * `{ secrets: s }`) from its parameter. A syntactic check of these forms only, so that a
 * pipeline that was never type-checked is refused before it runs; the rest of the body is not
 * analyzed. A nested function whose parameters rebind the name is skipped.
 */
export function checkSecretReads(input: SecretReadsInput): void {
  const fn = unwrap(input.body);
  if (!ts.isArrowFunction(fn) && !ts.isFunctionExpression(fn)) return;
  const param = fn.parameters[0]?.name;
  if (!param) return;
  let isSecrets: (e: ts.Expression) => boolean;
  // The name the reads start from: the context parameter, or the destructured secrets.
  let root: string;
  if (ts.isIdentifier(param)) {
    const ctx = param.text;
    root = ctx;
    isSecrets = (e) =>
      ts.isPropertyAccessExpression(e) &&
      e.name.text === 'secrets' &&
      ts.isIdentifier(unwrap(e.expression)) &&
      (unwrap(e.expression) as ts.Identifier).text === ctx;
  } else if (ts.isObjectBindingPattern(param)) {
    const element = param.elements.find(
      (el) => !el.dotDotDotToken && ((el.propertyName ?? el.name) as ts.Identifier).text === 'secrets',
    );
    if (!element || !ts.isIdentifier(element.name)) return;
    const local = element.name.text;
    root = local;
    isSecrets = (e) => ts.isIdentifier(e) && e.text === local;
  } else {
    return;
  }
  const declared = new Set(input.declared);
  const visit = (node: ts.Node): void => {
    if (node !== fn && ts.isFunctionLike(node) && rebinds(node, root)) return;
    const read = secretRead(node, isSecrets);
    if (read && !declared.has(read.name)) {
      input.sink.error(
        ErrorCodes.analysisUndeclaredSecret,
        { file: input.file, node: read.at },
        `job '${input.job}' reads the secret '${read.name}', which it does not declare${
          declared.size ? ` (it declares ${[...declared].map((s) => `'${s}'`).join(', ')})` : ''
        }.${didYouMean(read.name, declared, (s) => `'${s}'`)}`,
        `Add '${read.name}' to the job's secrets: job('${input.job}', { secrets: [${[...declared, read.name].map((s) => `'${s}'`).join(', ')}] }, …).`,
      );
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(fn.body, visit);
}

/** `<secrets>.NAME` or `<secrets>['NAME']`: the name read and the node that spells it. */
function secretRead(
  node: ts.Node,
  isSecrets: (e: ts.Expression) => boolean,
): { name: string; at: ts.Node } | undefined {
  if (ts.isPropertyAccessExpression(node) && isSecrets(unwrap(node.expression)) && ts.isIdentifier(node.name)) {
    return { name: node.name.text, at: node.name };
  }
  if (
    ts.isElementAccessExpression(node) &&
    isSecrets(unwrap(node.expression)) &&
    ts.isStringLiteralLike(node.argumentExpression)
  ) {
    return { name: node.argumentExpression.text, at: node.argumentExpression };
  }
  return undefined;
}

/** True when a nested function's parameters shadow `root` (the context or the destructured secrets). */
function rebinds(fn: ts.SignatureDeclaration, root: string): boolean {
  const names: string[] = [];
  const collect = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.push(name.text);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) collect(el.name);
  };
  for (const p of fn.parameters) collect(p.name);
  return names.includes(root);
}
