import { BadInputError, type PipelineSpec } from '@hiveforge/sdk';
import { z } from 'zod';

type InputValue = string | number | boolean;

/**
 * The largest inputs a run may be triggered with: a value's UTF-8 bytes, all names and values
 * together, how many, and a name's length. A run's trigger is stored in its record, which must
 * stay far below a MongoDB document's 16 MiB.
 */
export const INPUT_LIMITS = { valueBytes: 64 * 1024, totalBytes: 256 * 1024, count: 100, nameLength: 100 } as const;

/** The bytes the inputs take, names and values, as the run record stores them. */
const inputBytes = (inputs: Readonly<Record<string, InputValue>>) =>
  Object.entries(inputs).reduce(
    (n, [name, value]) => n + Buffer.byteLength(name) + Buffer.byteLength(String(value)),
    0,
  );

/** The inputs of a trigger, as a procedure's schema: sizes are checked before anything else. */
export const RunInputsSchema = z
  .record(
    z.string().min(1).max(INPUT_LIMITS.nameLength),
    z.union([
      z.string().refine((v) => v.length <= INPUT_LIMITS.valueBytes && Buffer.byteLength(v) <= INPUT_LIMITS.valueBytes, {
        message: `an input value may be at most ${INPUT_LIMITS.valueBytes} bytes`,
      }),
      z.number().finite(),
      z.boolean(),
    ]),
  )
  .refine((inputs) => Object.keys(inputs).length <= INPUT_LIMITS.count, {
    message: `at most ${INPUT_LIMITS.count} inputs`,
  })
  .refine((inputs) => inputBytes(inputs) <= INPUT_LIMITS.totalBytes, {
    message: `inputs may total at most ${INPUT_LIMITS.totalBytes} bytes`,
  });

/**
 * Checks the inputs of a run against the pipeline's manual trigger and fills in defaults.
 * Unknown names, missing required inputs, wrong types and choices outside their options are
 * a BadInputError naming each problem.
 */
export function resolveRunInputs(
  spec: PipelineSpec,
  inputs: Readonly<Record<string, InputValue>>,
): Record<string, InputValue> {
  const declared = spec.triggers.manual?.inputs ?? {};
  const issues: { path: string; message: string }[] = [];
  // The same limits as the API's schema, for triggers that do not come through it.
  const sized = RunInputsSchema.safeParse(inputs);
  if (!sized.success) {
    const problems = sized.error.issues.map((i) => ({ path: ['inputs', ...i.path].join('.'), message: i.message }));
    throw new BadInputError(problems.map((i) => `${i.path}: ${i.message}`).join('; '), problems);
  }
  const resolved: Record<string, InputValue> = {};
  for (const name of Object.keys(inputs)) {
    if (!(name in declared)) {
      const known = Object.keys(declared);
      issues.push({
        path: `inputs.${name}`,
        message: `pipeline '${spec.name}' has no input '${name}'${known.length ? ` (inputs: ${known.join(', ')})` : ''}`,
      });
    }
  }
  for (const [name, def] of Object.entries(declared)) {
    const value = inputs[name];
    if (value === undefined) {
      if (def.default !== null) resolved[name] = def.default;
      else if (def.required) issues.push({ path: `inputs.${name}`, message: `input '${name}' is required` });
      continue;
    }
    const type = def.type === 'choice' ? 'string' : def.type;
    if (typeof value !== type) {
      issues.push({ path: `inputs.${name}`, message: `input '${name}' must be a ${def.type}, not ${typeof value}` });
    } else if (def.type === 'choice' && !def.options.includes(value as string)) {
      issues.push({ path: `inputs.${name}`, message: `input '${name}' must be one of ${def.options.join(', ')}` });
    } else {
      resolved[name] = value;
    }
  }
  if (issues.length) throw new BadInputError(issues.map((i) => i.message).join('; '), issues);
  return resolved;
}
