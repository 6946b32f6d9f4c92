import type { ts } from 'ts-morph';
import type { SourceFileInfo } from './source-host.js';

/** Where a value was written. */
export interface Origin {
  /** The node the value was written as: diagnostics about the value point here. */
  node: ts.Node;
  file: SourceFileInfo;
}

/** A property of a static object, with the node of its key for diagnostics about the key. */
export interface StaticProperty {
  key: string;
  keyNode: ts.Node;
  keyFile: SourceFileInfo;
  value: StaticValue;
}

/**
 * A value read from source without running it. Every value remembers where it was written, so
 * a diagnostic about it points at the literal, even when it came through a `const` or an import.
 * `unknown` marks a value that could not be read; a diagnostic has already been reported.
 */
export type StaticValue =
  | ({ kind: 'string'; value: string } & Origin)
  | ({ kind: 'number'; value: number } & Origin)
  | ({ kind: 'boolean'; value: boolean } & Origin)
  | ({ kind: 'null' } & Origin)
  | ({ kind: 'undefined' } & Origin)
  | ({ kind: 'array'; items: StaticValue[]; partial: boolean } & Origin)
  | ({ kind: 'object'; properties: Map<string, StaticProperty>; partial: boolean } & Origin)
  /**
   * The result of an SDK `job()` or `image()` call: a reference, read by the caller. Its origin
   * is where it is referenced (`needs: [build]` points at `build`); `call` is the declaration.
   */
  | ({ kind: 'job'; call: ts.CallExpression; callFile: SourceFileInfo } & Origin)
  | ({ kind: 'image'; call: ts.CallExpression; callFile: SourceFileInfo } & Origin)
  | ({ kind: 'function'; fn: ts.SignatureDeclaration } & Origin)
  | ({ kind: 'unknown' } & Origin);

/** A human description of a value's type for messages: "the string 'two'", "an array". */
export function describeValue(value: StaticValue): string {
  switch (value.kind) {
    case 'string':
      return `the string ${JSON.stringify(value.value)}`;
    case 'number':
      return `the number ${value.value}`;
    case 'boolean':
      return `\`${value.value}\``;
    case 'null':
      return '`null`';
    case 'undefined':
      return '`undefined`';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    case 'job':
      return 'a job reference';
    case 'image':
      return 'an image';
    case 'function':
      return 'a function';
    case 'unknown':
      return 'a value that is not static';
  }
}

/** Turns plain data (the SDK's exported constants) into a static value located at `node`. */
export function fromPlain(value: unknown, node: ts.Node, file: SourceFileInfo): StaticValue {
  if (typeof value === 'string') return { kind: 'string', value, node, file };
  if (typeof value === 'number') return { kind: 'number', value, node, file };
  if (typeof value === 'boolean') return { kind: 'boolean', value, node, file };
  if (value === null) return { kind: 'null', node, file };
  if (Array.isArray(value)) {
    return { kind: 'array', items: value.map((v) => fromPlain(v, node, file)), partial: false, node, file };
  }
  if (typeof value === 'object') {
    const properties = new Map<string, StaticProperty>();
    for (const [key, v] of Object.entries(value)) {
      properties.set(key, { key, keyNode: node, keyFile: file, value: fromPlain(v, node, file) });
    }
    return { kind: 'object', properties, partial: false, node, file };
  }
  return { kind: 'undefined', node, file };
}
