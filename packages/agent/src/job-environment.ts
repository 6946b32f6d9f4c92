/**
 * The environment a job starts from. Nothing of the agent's own environment reaches a job (above
 * all not its registration secret or token) unless the agent's configuration passes a variable by
 * name (`--pass-env NAME`). See docs/concepts.md, "The job environment".
 */
import { homedir } from 'node:os';
import type { Lease } from '@hiveforge/coordinator';

/** The PATH a job gets when the agent itself has none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The locale a job gets when the agent has none set. @default 'C.UTF-8' */
export const DEFAULT_LOCALE = 'C.UTF-8';

/** An environment: names to values. */
export type EnvVars = Record<string, string>;

/** A variable name a shell accepts: letters, digits and `_`, not starting with a digit. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The host's basics every command run on the agent's host gets: `PATH`, `HOME` and the locale
 * (`LANG`, `LC_ALL`), taken from the agent's environment where set. An executor that runs
 * commands elsewhere (a container) leaves these to its image and uses {@link jobVariables} only.
 */
export function hostBasics(source: Readonly<Record<string, string | undefined>> = process.env): EnvVars {
  const locale = source.LC_ALL || source.LANG || DEFAULT_LOCALE;
  return {
    PATH: source.PATH || DEFAULT_PATH,
    HOME: source.HOME || homedir(),
    LANG: source.LANG || locale,
    LC_ALL: locale,
  };
}

/** The variables of the agent's environment that its configuration passes to jobs by name. */
export function passedVariables(
  names: readonly string[],
  source: Readonly<Record<string, string | undefined>> = process.env,
): EnvVars {
  const passed: EnvVars = {};
  for (const name of names) {
    const value = source[name];
    if (value !== undefined) passed[name] = value;
  }
  return passed;
}

/** What {@link jobVariables} builds a job's variables from. */
export interface JobVariablesInput {
  lease: Pick<Lease, 'env' | 'pipeline' | 'runId' | 'name' | 'attempt' | 'trigger'>;
  /** The values of the secrets the job declares, by name. @default {} */
  secrets?: Readonly<EnvVars>;
  /** Variables the agent's configuration passes (see {@link passedVariables}). @default {} */
  passed?: Readonly<EnvVars>;
}

/**
 * A job's own variables, in rising precedence: its declared secrets, what the agent passes by
 * name, the job's `env`, then `CI=true` and the `HIVEFORGE_*` job variables (which a job cannot
 * shadow). Every executor gives these to every command of the job; the job host process (which
 * runs the job's body) gets the same.
 */
export function jobVariables(input: JobVariablesInput): EnvVars {
  const { lease } = input;
  return {
    ...input.secrets,
    ...input.passed,
    ...lease.env,
    CI: 'true',
    HIVEFORGE: 'true',
    HIVEFORGE_PIPELINE: lease.pipeline,
    HIVEFORGE_RUN_ID: lease.runId,
    HIVEFORGE_JOB: lease.name,
    HIVEFORGE_ATTEMPT: String(lease.attempt),
    ...(lease.trigger.branch ? { HIVEFORGE_BRANCH: lease.trigger.branch } : {}),
    ...(lease.trigger.commit ? { HIVEFORGE_COMMIT: lease.trigger.commit } : {}),
  };
}
