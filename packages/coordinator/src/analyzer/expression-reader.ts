import { ErrorCodes } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import type { Evaluation } from './evaluation.js';
import { notStatic } from './not-static.js';
import { HINT_LITERAL, fail } from './resolution.js';
import { SDK_CALL_SET, SDK_MODULE } from './sdk-module.js';
import type { SourceFileInfo } from './source-host.js';
import { type StaticProperty, type StaticValue, describeValue } from './static-value.js';

/**
 * Reads the expressions that are values in themselves: literals, templates, unary minus,
 * array and object literals with spreads, and the SDK's descriptive calls (`job()`, `image()`,
 * trigger helpers). Names inside them go back to the {@link Evaluation}.
 */
export class ExpressionReader {
  constructor(private readonly evaluation: Evaluation) {}

  /** The value `e` is written as; reports and returns `unknown` for anything else. */
  read(e: ts.Expression, file: SourceFileInfo, label: string): StaticValue {
    const origin = { node: e, file };
    switch (e.kind) {
      case ts.SyntaxKind.StringLiteral:
      case ts.SyntaxKind.NoSubstitutionTemplateLiteral:
        return { kind: 'string', value: (e as ts.StringLiteral).text, ...origin };
      case ts.SyntaxKind.NumericLiteral:
        return { kind: 'number', value: Number((e as ts.NumericLiteral).text), ...origin };
      case ts.SyntaxKind.TrueKeyword:
        return { kind: 'boolean', value: true, ...origin };
      case ts.SyntaxKind.FalseKeyword:
        return { kind: 'boolean', value: false, ...origin };
      case ts.SyntaxKind.NullKeyword:
        return { kind: 'null', ...origin };
      case ts.SyntaxKind.ArrowFunction:
      case ts.SyntaxKind.FunctionExpression:
        return { kind: 'function', fn: e as ts.ArrowFunction, ...origin };
      case ts.SyntaxKind.PrefixUnaryExpression:
        return this.prefixUnary(e as ts.PrefixUnaryExpression, file, label);
      case ts.SyntaxKind.TemplateExpression:
        return this.template(e as ts.TemplateExpression, file, label);
      case ts.SyntaxKind.ArrayLiteralExpression:
        return this.array(e as ts.ArrayLiteralExpression, file, label);
      case ts.SyntaxKind.ObjectLiteralExpression:
        return this.object(e as ts.ObjectLiteralExpression, file, label);
      case ts.SyntaxKind.CallExpression:
        return this.call(e as ts.CallExpression, file, label);
      default:
        return this.evaluation.unknown(notStatic(e, file), label);
    }
  }

  private prefixUnary(e: ts.PrefixUnaryExpression, file: SourceFileInfo, label: string): StaticValue {
    if (e.operator !== ts.SyntaxKind.MinusToken && e.operator !== ts.SyntaxKind.PlusToken) {
      return this.evaluation.unknown(notStatic(e, file), label);
    }
    const operand = this.evaluation.evaluate(e.operand, file, label);
    if (operand.kind === 'unknown') return operand;
    if (operand.kind !== 'number') return this.evaluation.unknown(notStatic(e, file), label);
    return {
      kind: 'number',
      value: e.operator === ts.SyntaxKind.MinusToken ? -operand.value : operand.value,
      node: e,
      file,
    };
  }

  private template(e: ts.TemplateExpression, file: SourceFileInfo, label: string): StaticValue {
    let text = e.head.text;
    for (const span of e.templateSpans) {
      const part = this.evaluation.evaluate(span.expression, file, label);
      if (part.kind === 'unknown') return part;
      if (part.kind !== 'string' && part.kind !== 'number' && part.kind !== 'boolean') {
        return this.evaluation.unknown(
          fail(
            { file, node: span.expression },
            `${describeValue(part)} cannot be part of a template string here`,
            'Only strings, numbers and booleans can be substituted into static template strings.',
            ErrorCodes.analysisInvalidValue,
          ),
          label,
        );
      }
      text += String(part.value) + span.literal.text;
    }
    return { kind: 'string', value: text, node: e, file };
  }

  private array(e: ts.ArrayLiteralExpression, file: SourceFileInfo, label: string): StaticValue {
    const items: StaticValue[] = [];
    let partial = false;
    e.elements.forEach((element, index) => {
      if (ts.isSpreadElement(element)) {
        const spread = this.evaluation.evaluate(element.expression, file, `${label}[…]`);
        if (spread.kind === 'array') {
          items.push(...spread.items);
          partial ||= spread.partial;
        } else if (spread.kind === 'unknown') partial = true;
        else {
          partial = true;
          this.evaluation.sink.error(
            ErrorCodes.analysisInvalidValue,
            { file, node: element },
            `${label}: only arrays can be spread into an array, got ${describeValue(spread)}`,
            'Spread an array literal or a const array.',
          );
        }
      } else if (ts.isOmittedExpression(element)) {
        items.push({ kind: 'undefined', node: element, file });
      } else items.push(this.evaluation.evaluate(element, file, `${label}[${index}]`));
    });
    return { kind: 'array', items, partial, node: e, file };
  }

  private object(e: ts.ObjectLiteralExpression, file: SourceFileInfo, label: string): StaticValue {
    const properties = new Map<string, StaticProperty>();
    let partial = false;
    for (const p of e.properties) {
      if (ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p)) {
        const key = this.propertyKey(p.name, file, label);
        if (key === undefined) {
          partial = true;
          continue;
        }
        const value = ts.isPropertyAssignment(p)
          ? this.evaluation.evaluate(p.initializer, file, `${label} › ${key}`)
          : this.evaluation.evaluate(p.name, file, `${label} › ${key}`);
        properties.set(key, { key, keyNode: p.name, keyFile: file, value });
      } else if (ts.isSpreadAssignment(p)) {
        const spread = this.evaluation.evaluate(p.expression, file, `${label} › …`);
        if (spread.kind === 'object') {
          for (const [key, property] of spread.properties) properties.set(key, property);
          partial ||= spread.partial;
        } else if (spread.kind === 'unknown') partial = true;
        else if (spread.kind !== 'null' && spread.kind !== 'undefined') {
          partial = true;
          this.evaluation.sink.error(
            ErrorCodes.analysisInvalidValue,
            { file, node: p },
            `${label}: only objects can be spread into an object, got ${describeValue(spread)}`,
            'Spread an object literal or a const object.',
          );
        }
      } else {
        partial = true;
        this.evaluation.sink.error(
          ErrorCodes.analysisNotStatic,
          { file, node: p },
          `${label}: methods and accessors are code, not static values`,
          HINT_LITERAL,
        );
      }
    }
    return { kind: 'object', properties, partial, node: e, file };
  }

  private propertyKey(name: ts.PropertyName, file: SourceFileInfo, label: string): string | undefined {
    if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name)) return name.text;
    if (ts.isNumericLiteral(name)) return String(Number(name.text));
    if (ts.isComputedPropertyName(name)) {
      const key = this.evaluation.evaluate(name.expression, file, `${label} › [key]`);
      if (key.kind === 'string' || key.kind === 'number') return String(key.value);
      if (key.kind !== 'unknown') {
        this.evaluation.sink.error(
          ErrorCodes.analysisInvalidValue,
          { file, node: name },
          `${label}: a computed key must be a string or a number, got ${describeValue(key)}`,
          'Write the key as a literal.',
        );
      }
      return undefined;
    }
    this.evaluation.sink.error(
      ErrorCodes.analysisNotStatic,
      { file, node: name },
      `${label}: private names are not static keys`,
      HINT_LITERAL,
    );
    return undefined;
  }

  private call(e: ts.CallExpression, file: SourceFileInfo, label: string): StaticValue {
    const name = this.evaluation.sdkCallee(e, file);
    if (name === undefined) return this.evaluation.unknown(notStatic(e, file), label);
    if (!SDK_CALL_SET.has(name) || name === 'pipeline') {
      return this.evaluation.unknown(
        fail(
          { file, node: e },
          name === 'pipeline'
            ? '`pipeline()` can only be the default export, not a value inside another pipeline'
            : `calls to \`${name}\` of ${SDK_MODULE} are not evaluated statically`,
          HINT_LITERAL,
        ),
        label,
      );
    }
    if (name === 'job') return { kind: 'job', call: e, callFile: file, node: e, file };
    if (name === 'image') return { kind: 'image', call: e, callFile: file, node: e, file };
    const args = this.callArguments(e, file, `${label} › ${name}()`);
    if (name === 'schedule') {
      const crons: StaticValue = { kind: 'array', items: args.values, partial: args.partial, node: e, file };
      return helperObject('schedule', crons, e, file);
    }
    const options: StaticValue = args.values[0] ?? {
      kind: 'object',
      properties: new Map(),
      partial: args.partial,
      node: e,
      file,
    };
    for (const extra of args.values.slice(1)) {
      this.evaluation.sink.error(
        ErrorCodes.analysisInvalidValue,
        { file: extra.file, node: extra.node },
        `${label}: ${name}() takes one options object; this argument is ignored`,
        `Put every option of the trigger in the first argument: ${name}({ … }).`,
      );
    }
    return helperObject(name, options, e, file);
  }

  private callArguments(e: ts.CallExpression, file: SourceFileInfo, label: string) {
    const values: StaticValue[] = [];
    let partial = false;
    e.arguments.forEach((argument, index) => {
      if (ts.isSpreadElement(argument)) {
        const spread = this.evaluation.evaluate(argument.expression, file, label);
        if (spread.kind === 'array') values.push(...spread.items);
        else partial = true;
        if (spread.kind !== 'array' && spread.kind !== 'unknown') {
          this.evaluation.sink.error(
            ErrorCodes.analysisInvalidValue,
            { file, node: argument },
            `${label}: only arrays can be spread into arguments, got ${describeValue(spread)}`,
            'Spread an array literal or a const array.',
          );
        }
      } else values.push(this.evaluation.evaluate(argument, file, `${label} argument ${index + 1}`));
    });
    return { values, partial };
  }
}

function helperObject(key: string, value: StaticValue, call: ts.CallExpression, file: SourceFileInfo): StaticValue {
  const properties = new Map<string, StaticProperty>([[key, { key, keyNode: call.expression, keyFile: file, value }]]);
  return { kind: 'object', properties, partial: false, node: call, file };
}
