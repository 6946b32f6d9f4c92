import {
  type ByteSize,
  type Duration,
  ErrorCodes,
  JOB_NAME_PATTERN,
  parseByteSize,
  parseDuration,
} from '@hiveforge/sdk';
import type { DiagnosticSink, Located } from './diagnostic-sink.js';
import { type StaticValue, describeValue } from './static-value.js';
import { didYouMean } from './suggest.js';

/** The properties of an options object, by key. */
export type Props = Map<string, StaticValue>;

const NAME_RULE = 'use letters, digits, "_", "." and "-", starting with a letter or digit (at most 100 characters)';
const quote = (s: string) => `\`${s}\``;
/** Quotes a name as messages show it: `'name'`. */
export const quoteName = (s: string) => `'${s}'`;

/**
 * Reads static values as the plain types options are made of (strings, lists, records, sizes,
 * durations, names, options objects with known keys). A value of the wrong shape is a
 * diagnostic at the value and `undefined`; an `unknown` value was already reported and is
 * `undefined` without a second diagnostic.
 */
export class ValueReader {
  constructor(private readonly sink: DiagnosticSink) {}

  duration(value: StaticValue, label: string): Duration | undefined {
    if (value.kind === 'unknown') return undefined;
    const hint = "Write a number of milliseconds or a duration string like '90s', '15m', '1h30m'.";
    if (value.kind !== 'string' && value.kind !== 'number') {
      this.invalid(value, `${label} must be a duration, got ${describeValue(value)}`, hint);
      return undefined;
    }
    let ms: number;
    try {
      ms = parseDuration(value.value);
    } catch {
      this.invalid(value, `${label}: ${JSON.stringify(value.value)} is not a valid duration`, hint);
      return undefined;
    }
    if (ms <= 0) {
      this.invalid(value, `${label} must be longer than zero, got ${JSON.stringify(value.value)}`, hint);
      return undefined;
    }
    return value.value as Duration;
  }

  byteSize(value: StaticValue, label: string): ByteSize | undefined {
    if (value.kind === 'unknown') return undefined;
    const hint = "Write a number of bytes or a size like '512Mi' or '10Gi'.";
    if (value.kind !== 'string' && value.kind !== 'number') {
      this.invalid(value, `${label} must be a size, got ${describeValue(value)}`, hint);
      return undefined;
    }
    let bytes: number;
    try {
      bytes = parseByteSize(value.value);
    } catch {
      this.invalid(value, `${label}: ${JSON.stringify(value.value)} is not a valid size`, hint);
      return undefined;
    }
    if (bytes <= 0) {
      this.invalid(value, `${label} must be larger than zero, got ${JSON.stringify(value.value)}`, hint);
      return undefined;
    }
    return value.value as ByteSize;
  }

  name(value: StaticValue, kind: 'pipeline' | 'job' | 'image'): string | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'string') {
      this.invalid(
        value,
        `the ${kind} name must be a string, got ${describeValue(value)}`,
        `Name the ${kind} with a string literal.`,
      );
      return undefined;
    }
    if (!JOB_NAME_PATTERN.test(value.value)) {
      this.invalid(
        value,
        `${kind} name ${JSON.stringify(value.value)} is invalid: ${NAME_RULE}`,
        `Rename it, for example ${JSON.stringify(suggestName(value.value))}.`,
      );
      return undefined;
    }
    return value.value;
  }

  object(value: StaticValue, label: string, keys: readonly string[]): Props | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'object') {
      this.invalid(
        value,
        `${label}: expected an options object, got ${describeValue(value)}`,
        `Write an object literal with any of: ${keys.join(', ')}.`,
      );
      return undefined;
    }
    const out: Props = new Map();
    for (const [key, p] of value.properties) {
      if (!keys.includes(key)) {
        this.invalid(
          { file: p.keyFile, node: p.keyNode },
          `${label} has no option ${quote(key)}.${didYouMean(key, keys, quote)}`,
          `The options are: ${keys.join(', ')}.`,
        );
        continue;
      }
      if (p.value.kind !== 'undefined') out.set(key, p.value);
    }
    return out;
  }

  record(value: StaticValue, label: string): Props | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'object') {
      this.invalid(value, `${label} must be an object, got ${describeValue(value)}`, 'Write an object literal.');
      return undefined;
    }
    const out: Props = new Map();
    for (const [key, p] of value.properties) out.set(key, p.value);
    return out;
  }

  scalarRecord(value: StaticValue, label: string): Record<string, string | number | boolean> | undefined {
    const props = this.record(value, label);
    if (!props) return undefined;
    const out: Record<string, string | number | boolean> = {};
    for (const [key, v] of props) {
      if (v.kind === 'string' || v.kind === 'number' || v.kind === 'boolean') out[key] = v.value;
      else if (v.kind !== 'unknown') {
        this.invalid(
          v,
          `${label} › ${key} must be a string, number or boolean, got ${describeValue(v)}`,
          'Environment values are strings; numbers and booleans are converted.',
        );
      }
    }
    return out;
  }

  stringRecord(value: StaticValue, label: string): Record<string, string> | undefined {
    const props = this.record(value, label);
    if (!props) return undefined;
    const out: Record<string, string> = {};
    for (const [key, v] of props) {
      const s = this.string(v, `${label} › ${key}`, false);
      if (s !== undefined) out[key] = s;
    }
    return out;
  }

  array(value: StaticValue, label: string, expected: string, example: string): StaticValue[] | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'array') {
      this.invalid(
        value,
        `${label} must be ${expected}, got ${describeValue(value)}`,
        `Write ${expected}: ${example}.`,
      );
      return undefined;
    }
    return value.partial ? undefined : value.items;
  }

  stringList(value: StaticValue, label: string, single: boolean, expected = 'a list of strings'): string[] | undefined {
    if (single && value.kind === 'string') return [value.value];
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'array') {
      this.invalid(
        value,
        `${label} must be ${single ? 'a string or ' : ''}${expected}, got ${describeValue(value)}`,
        `Write ${expected}: ['…'].`,
      );
      return undefined;
    }
    const out: string[] = [];
    let ok = !value.partial;
    for (const item of value.items) {
      const s = this.string(item, `${label} item`, false);
      if (s === undefined) ok = false;
      else out.push(s);
    }
    return ok ? out : undefined;
  }

  string(value: StaticValue, label: string, nonEmpty: boolean): string | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'string') {
      this.invalid(value, `${label} must be a string, got ${describeValue(value)}`, 'Write a string literal.');
      return undefined;
    }
    if (nonEmpty && value.value.trim() === '') {
      this.invalid(value, `${label} must not be empty`, 'Write a non-empty string.');
      return undefined;
    }
    return value.value;
  }

  boolean(value: StaticValue, label: string): boolean | undefined {
    if (value.kind === 'boolean') return value.value;
    if (value.kind !== 'unknown')
      this.invalid(value, `${label} must be true or false, got ${describeValue(value)}`, 'Write `true` or `false`.');
    return undefined;
  }

  integer(value: StaticValue, label: string, min: number, max: number, hint: string): number | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'number' || !Number.isInteger(value.value) || value.value < min || value.value > max) {
      this.invalid(value, `${label} must be an integer from ${min} to ${max}, got ${describeValue(value)}`, hint);
      return undefined;
    }
    return value.value;
  }

  oneOf<T extends string>(value: StaticValue, label: string, allowed: readonly T[]): T | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind === 'string' && (allowed as readonly string[]).includes(value.value)) return value.value as T;
    const got = value.kind === 'string' ? value.value : '';
    this.invalid(
      value,
      `${label} must be one of ${allowed.map(quoteName).join(', ')}, got ${describeValue(value)}.${didYouMean(got, allowed, quoteName)}`,
      `Use one of: ${allowed.map(quoteName).join(', ')}.`,
    );
    return undefined;
  }

  invalid(at: Located, message: string, hint: string): void {
    this.sink.error(ErrorCodes.analysisInvalidValue, at, message, hint);
  }
}

function suggestName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return cleaned || 'job';
}
