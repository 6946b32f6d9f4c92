import { ErrorCodes, type MatrixDefinition, instanceName } from '@hiveforge/sdk';
import { type DiagnosticSink, positionOf } from './diagnostic-sink.js';
import { type StaticValue, describeValue } from './static-value.js';
import type { ValueReader } from './value-reader.js';

/** The most instances one job's matrix may expand to. */
export const MAX_MATRIX_INSTANCES = 1_000;

/**
 * Reads a job's `matrix`: every key a list of distinct scalar values, at most
 * {@link MAX_MATRIX_INSTANCES} combinations.
 */
export function readMatrix(
  value: StaticValue,
  label: string,
  jobName: string,
  reader: ValueReader,
  sink: DiagnosticSink,
): MatrixDefinition | undefined {
  const entries = reader.record(value, label);
  if (!entries) return undefined;
  if (entries.size === 0 && value.kind === 'object' && !value.partial) {
    reader.invalid(value, `${label} is empty`, 'Give each matrix key a list of values: matrix: { node: [18, 20] }.');
    return undefined;
  }
  const matrix: Record<string, (string | number | boolean)[]> = {};
  const collisions: {
    key: string;
    first: StaticValue;
    second: StaticValue & { value: string | number | boolean };
  }[] = [];
  let count = 1;
  let ok = true;
  for (const [key, v] of entries) {
    const items = reader.array(v, `${label} › ${key}`, 'a list of values', '[18, 20]');
    if (!items) {
      ok = false;
      continue;
    }
    if (items.length === 0 && v.kind === 'array' && !v.partial) {
      reader.invalid(
        v,
        `${label} › ${key} has no values, so the job would have no instances`,
        'List at least one value, or remove the key.',
      );
      ok = false;
      continue;
    }
    const seen = new Map<string, StaticValue>();
    const values: (string | number | boolean)[] = [];
    for (const item of items) {
      if (item.kind === 'unknown') {
        ok = false;
        continue;
      }
      if (item.kind !== 'string' && item.kind !== 'number' && item.kind !== 'boolean') {
        reader.invalid(
          item,
          `${label} › ${key}: values must be strings, numbers or booleans, got ${describeValue(item)}`,
          'Use scalar values.',
        );
        ok = false;
        continue;
      }
      const text = String(item.value);
      const first = seen.get(text);
      if (first) {
        collisions.push({ key, first, second: item });
        ok = false;
        continue;
      }
      seen.set(text, item);
      values.push(item.value);
    }
    matrix[key] = values;
    count *= Math.max(values.length, 1);
  }
  for (const { key, first, second } of collisions) {
    // Name one colliding instance in full: the other keys take their first values.
    const combination = Object.fromEntries(
      Object.entries(matrix).map(([k, values]) => [k, k === key ? second.value : (values[0] ?? '')]),
    );
    const { line, column } = positionOf(first);
    sink.error(
      ErrorCodes.analysisDuplicateJob,
      second,
      `${label} › ${key} repeats the value ${JSON.stringify(String(second.value))} (first at line ${line}, column ${column}), so two instances of job '${jobName}' would both be named '${instanceName(jobName, combination)}'`,
      'Remove the repeated value: matrix values must be distinct as text (1 and "1" count as the same).',
    );
  }
  if (count > MAX_MATRIX_INSTANCES) {
    reader.invalid(
      value,
      `${label} expands to ${count} instances; at most ${MAX_MATRIX_INSTANCES} are allowed per job`,
      'Reduce the number of values, or split the job.',
    );
    return undefined;
  }
  return ok ? matrix : undefined;
}
