/** What a job may use of its agent's machine: `resources` of the job options. */
export interface JobResourceOptions {
  /** CPUs the job's container may use; fractions allowed (`0.5`). @default unlimited */
  cpus?: number;
  /**
   * Memory the job's container may use: bytes, or a size with a binary unit (`'256Mi'`,
   * `'1Gi'`, `'512m'`; `k`/`m`/`g` mean KiB/MiB/GiB, as in `docker run --memory`). Going over it
   * fails the attempt with an out-of-memory error. @default unlimited
   */
  memory?: number | string;
}

/** The smallest memory limit a container engine accepts (Docker's minimum is 6 MiB). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
/** The most CPUs a job may ask for. */
export const MAX_CPUS = 1_024;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const MEMORY = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b|i)?$/i;

/**
 * Reads a memory size as bytes, or explains in one line why it is not one.
 * @example parseMemory('256Mi') // 268435456
 */
export function parseMemory(value: number | string): { bytes: number } | { error: string } {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else {
    const text = value.trim();
    const match = MEMORY.exec(text);
    if (!match)
      return {
        error: `"${value}" is not a memory size: write bytes or a number with Ki, Mi, Gi or Ti ('256Mi', '1Gi', '512m')`,
      };
    bytes = Math.round(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] as number));
  }
  if (!Number.isFinite(bytes) || !Number.isInteger(bytes))
    return { error: `${value} is not a whole number of bytes: write a size such as '256Mi'` };
  if (bytes < MIN_MEMORY_BYTES) return { error: `memory ${JSON.stringify(value)} is below the minimum of 6Mi` };
  return { bytes };
}

/** Checks a CPU count: a positive number up to {@link MAX_CPUS}, in hundredths at most. */
export function checkCpus(value: number): string | null {
  if (!Number.isFinite(value) || value <= 0 || value > MAX_CPUS)
    return `cpus must be a number above 0 and at most ${MAX_CPUS}, got ${value}`;
  if (Math.round(value * 100) !== value * 100) return `cpus ${value}: use at most two decimals (0.25, 1.5)`;
  return null;
}

/** A user to run a job's commands as: `root`, a user name, or `uid[:gid]`. */
export const JOB_USER_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/;
