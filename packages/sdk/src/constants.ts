// Plain constants, kept apart from the zod schemas so that a pipeline bundle that only declares
// jobs does not carry the schema library.

/** The `apiVersion` of every PipelineSpec this SDK produces and accepts. */
export const API_VERSION = 'hiveforge.dev/v1';

/** Declared job names: letters, digits, `_`, `.`, `-`; starting with a letter or digit. */
export const JOB_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** The events that start a run. `local` is `hiveforge run` on a workstation. */
export const TriggerEvent = {
  push: 'push',
  pullRequest: 'pullRequest',
  schedule: 'schedule',
  manual: 'manual',
  local: 'local',
} as const;
export type TriggerEvent = (typeof TriggerEvent)[keyof typeof TriggerEvent];
