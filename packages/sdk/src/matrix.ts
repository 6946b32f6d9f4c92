/** A matrix: each key lists the values it takes. Every combination becomes one job instance. */
export type MatrixDefinition = Readonly<Record<string, readonly (string | number | boolean)[]>>;

/** One combination of a matrix. */
export type MatrixCombination = Record<string, string | number | boolean>;

/**
 * Every combination of a matrix, in declaration order (the last key varies fastest).
 * @example expandMatrix({ node: [18, 20], os: ['linux'] }) // [{node:18,os:'linux'},{node:20,os:'linux'}]
 */
export function expandMatrix(matrix: MatrixDefinition): MatrixCombination[] {
  let combos: MatrixCombination[] = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    const next: MatrixCombination[] = [];
    for (const combo of combos) for (const value of values) next.push({ ...combo, [key]: value });
    combos = next;
  }
  return combos;
}

/**
 * The stable name of a matrix instance: `test[node=18,os=linux]`. Without a matrix the name is
 * the declared name.
 */
export function instanceName(job: string, combination: MatrixCombination | null): string {
  if (!combination) return job;
  const parts = Object.entries(combination).map(([k, v]) => `${k}=${String(v)}`);
  return `${job}[${parts.join(',')}]`;
}
