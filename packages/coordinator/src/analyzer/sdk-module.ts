import * as sdk from '@hiveforge/sdk';

/** The module specifier users import the SDK from. */
export const SDK_MODULE = '@hiveforge/sdk';

/** SDK calls whose result the analyzer can describe without running them. */
export const SDK_CALLS = ['pipeline', 'job', 'image', 'push', 'pullRequest', 'schedule', 'manual'] as const;
/** One of {@link SDK_CALLS}. */
export type SdkCall = (typeof SDK_CALLS)[number];

/** Plain data the SDK exports; a pipeline may use them in structural positions (`TriggerEvent.push`). */
export const SDK_DATA: Readonly<Record<string, unknown>> = {
  TriggerEvent: sdk.TriggerEvent,
  DEFAULT_JOB_TIMEOUT_MS: sdk.DEFAULT_JOB_TIMEOUT_MS,
  API_VERSION: sdk.API_VERSION,
};
/** Every name the SDK exports, values and functions. */
export const SDK_EXPORTS: ReadonlySet<string> = new Set(Object.keys(sdk));
/** {@link SDK_CALLS} as a set. */
export const SDK_CALL_SET: ReadonlySet<string> = new Set(SDK_CALLS);
