import { ErrorCodes, JOB_USER_PATTERN, type JobResourceOptions, checkCpus, parseMemory } from '@hiveforge/sdk';
import type { DiagnosticSink } from './diagnostic-sink.js';
import { type StaticValue, describeValue } from './static-value.js';
import { didYouMean } from './suggest.js';

/** The keys of a job's `resources`. */
export const RESOURCE_KEYS = ['cpus', 'memory'] as const;

const MEMORY_HINT = "Write bytes or a size with a binary unit: memory: '256Mi' (also '1Gi', '512m').";
const CPUS_HINT = 'Write a number of CPUs above 0: cpus: 2, or cpus: 0.5 for half of one.';
const quote = (s: string) => `\`${s}\``;

/** Reads a job's `resources: { cpus, memory }`, reporting each bad value where it is written. */
export function readResources(value: StaticValue, label: string, sink: DiagnosticSink): JobResourceOptions | undefined {
  const invalid = (at: StaticValue, message: string, hint: string) =>
    sink.error(ErrorCodes.analysisInvalidValue, at, message, hint);
  if (value.kind === 'unknown' || value.kind === 'null') return undefined;
  if (value.kind !== 'object') {
    invalid(
      value,
      `${label} must be an object, got ${describeValue(value)}`,
      "Write resources: { cpus: 2, memory: '1Gi' }.",
    );
    return undefined;
  }
  const out: JobResourceOptions = {};
  for (const [key, p] of value.properties) {
    const v = p.value;
    const l = `${label} › ${key}`;
    if (!(RESOURCE_KEYS as readonly string[]).includes(key)) {
      sink.error(
        ErrorCodes.analysisInvalidValue,
        { file: p.keyFile, node: p.keyNode },
        `${label} has no option ${quote(key)}.${didYouMean(key, RESOURCE_KEYS, quote)}`,
        `The options are: ${RESOURCE_KEYS.join(', ')}.`,
      );
    } else if (v.kind === 'unknown' || v.kind === 'undefined') {
      // Reported by the evaluator, or left out.
    } else if (key === 'cpus') {
      const problem = v.kind === 'number' ? checkCpus(v.value) : `cpus must be a number, got ${describeValue(v)}`;
      if (problem) invalid(v, `${label} › ${problem}`, CPUS_HINT);
      else if (v.kind === 'number') out.cpus = v.value;
    } else if (v.kind !== 'string' && v.kind !== 'number') {
      invalid(v, `${l} must be a size such as '256Mi', got ${describeValue(v)}`, MEMORY_HINT);
    } else {
      const memory = parseMemory(v.value);
      if ('error' in memory) invalid(v, `${l}: ${memory.error}`, MEMORY_HINT);
      else out.memory = v.value;
    }
  }
  return out;
}

/** Reads a job's `user`: `'root'`, a user name or `'uid[:gid]'`. */
export function readUser(value: StaticValue, label: string, sink: DiagnosticSink): string | undefined {
  if (value.kind === 'unknown' || value.kind === 'null') return undefined;
  if (value.kind !== 'string' || !JOB_USER_PATTERN.test(value.value)) {
    sink.error(
      ErrorCodes.analysisInvalidValue,
      value,
      `${label} must be 'root', a user name or 'uid:gid', got ${describeValue(value)}`,
      "Write user: 'root' to run the job's commands as root, or user: '1000:1000'.",
    );
    return undefined;
  }
  return value.value;
}
