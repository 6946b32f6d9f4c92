import { appendFileSync } from 'node:fs';

/**
 * Receives the steps of each job an agent runs (`leased`, `workspace`, `download node_modules`,
 * `exec npm ci`, `exec done`, `upload done`, `completed`...), for finding where a run's time goes.
 * Called synchronously on the agent's thread: keep it cheap.
 */
export type Timeline = (job: string, step: string) => void;

/**
 * A timeline that appends one line per step to `file`: milliseconds since the process started
 * (`performance.now()`), the job and the step. `hiveforge run` writes one when `HIVEFORGE_TIMELINE`
 * names a file (docs/benchmarks.md).
 */
export function createFileTimeline(file: string): Timeline {
  return (job, step) => appendFileSync(file, `${performance.now().toFixed(0).padStart(7)} ${job.padEnd(10)} ${step}\n`);
}
