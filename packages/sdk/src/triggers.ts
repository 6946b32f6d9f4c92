import type { InputSpec, TriggerEvent, TriggersSpec } from './spec.js';

/** Runs on pushes to matching branches or tags. Empty lists match everything. */
export interface PushTrigger {
  branches?: readonly string[];
  tags?: readonly string[];
  paths?: readonly string[];
}

/** Runs on pull requests targeting matching branches. */
export interface PullRequestTrigger {
  branches?: readonly string[];
  paths?: readonly string[];
}

/** A typed input of a manual run. */
export type InputDefinition =
  | { type: 'string'; description?: string; required?: boolean; default?: string }
  | { type: 'number'; description?: string; required?: boolean; default?: number }
  | { type: 'boolean'; description?: string; required?: boolean; default?: boolean }
  | { type: 'choice'; description?: string; required?: boolean; options: readonly string[]; default?: string };

/** Runs when someone asks (dashboard, CLI, API), with typed inputs. */
export interface ManualTrigger {
  inputs?: Readonly<Record<string, InputDefinition>>;
}

/** What starts a pipeline. `true` means "with defaults". */
export interface Triggers {
  push?: PushTrigger | true;
  pullRequest?: PullRequestTrigger | true;
  /** Five-field cron expressions, in UTC. */
  schedule?: string | readonly string[];
  manual?: ManualTrigger | true;
}

/** Trigger on pushes. @example pipeline('web', { on: [push({ branches: ['main'] })] }, …) */
export function push(options: PushTrigger = {}): Triggers {
  return { push: options };
}

/** Trigger on pull requests. */
export function pullRequest(options: PullRequestTrigger = {}): Triggers {
  return { pullRequest: options };
}

/** Trigger on a cron schedule (UTC). @example schedule('0 3 * * *') */
export function schedule(...crons: string[]): Triggers {
  return { schedule: crons };
}

/** Trigger by hand, with typed inputs. */
export function manual(options: ManualTrigger = {}): Triggers {
  return { manual: options };
}

/** A job runs only when the run's branch and event match. Empty or absent means any. */
export interface JobCondition {
  branch?: string | readonly string[];
  event?: TriggerEvent | readonly TriggerEvent[];
}

const list = <T>(value: T | readonly T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? [...(value as readonly T[])] : [value as T];

/** Merges trigger fragments into the resolved {@link TriggersSpec}. */
export function resolveTriggers(on: Triggers | readonly Triggers[] | undefined): TriggersSpec {
  const spec: TriggersSpec = { push: null, pullRequest: null, schedule: [], manual: null };
  for (const fragment of list(on as Triggers | readonly Triggers[] | undefined)) {
    if (fragment.push) {
      const p = fragment.push === true ? {} : fragment.push;
      spec.push = { branches: list(p.branches), tags: list(p.tags), paths: list(p.paths) };
    }
    if (fragment.pullRequest) {
      const p = fragment.pullRequest === true ? {} : fragment.pullRequest;
      spec.pullRequest = { branches: list(p.branches), paths: list(p.paths) };
    }
    for (const cron of list(fragment.schedule)) spec.schedule.push({ cron });
    if (fragment.manual) {
      const m = fragment.manual === true ? {} : fragment.manual;
      const inputs: Record<string, InputSpec> = {};
      for (const [key, def] of Object.entries(m.inputs ?? {})) {
        const base = { description: def.description ?? null, required: def.required ?? false };
        inputs[key] =
          def.type === 'choice'
            ? { type: 'choice', ...base, options: [...def.options], default: def.default ?? null }
            : ({ type: def.type, ...base, default: def.default ?? null } as InputSpec);
      }
      spec.manual = { inputs };
    }
  }
  return spec;
}

/** Resolves a job condition; null when it is absent. */
export function resolveCondition(condition: JobCondition | undefined) {
  if (!condition) return null;
  return { branches: list(condition.branch), events: list(condition.event) };
}

/** Converts a glob (`*` within a path segment, `**` across segments) to a RegExp. */
export function globToRegExp(glob: string): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else pattern += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** True when `value` matches any of the globs, or the list is empty. */
export function matchesAny(globs: readonly string[], value: string | undefined): boolean {
  if (globs.length === 0) return true;
  if (value === undefined) return false;
  return globs.some((g) => globToRegExp(g).test(value));
}

/** Evaluates a resolved job condition against a run's trigger. */
export function conditionHolds(
  condition: { branches: readonly string[]; events: readonly string[] } | null,
  trigger: { event: string; branch?: string | null },
): boolean {
  if (!condition) return true;
  const eventOk = condition.events.length === 0 || condition.events.includes(trigger.event);
  return eventOk && matchesAny(condition.branches, trigger.branch ?? undefined);
}
