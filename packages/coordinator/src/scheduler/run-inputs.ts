import { BadInputError, type PipelineSpec } from '@hiveforge/sdk';

type InputValue = string | number | boolean;

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
