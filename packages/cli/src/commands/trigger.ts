import { randomUUID } from 'node:crypto';
import {
  BadInputError,
  ConfigError,
  ErrorCodes,
  type InputSpec,
  type PipelineSpec,
  TriggerEvent,
} from '@hiveforge/sdk';
import { type HiveForgeClient, hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { ClusterCommandError, withCluster } from '../cluster-client.js';
import { followToEnd } from '../run-follower.js';
import type { CommandIO } from './run.js';

/** Options of `hiveforge trigger`. */
export interface TriggerCommandOptions {
  pipeline: string;
  branch?: string;
  commit?: string;
  /** `name=value`, each typed by the pipeline's declared inputs. */
  input?: string[];
  /** Follow the run to its end and exit with its status. */
  follow?: boolean;
  /** Print the run record as JSON (without `follow`). */
  json?: boolean;
  /** Prefixed lines only while following, without the live block on a terminal. @default false */
  plain?: boolean;
  /** The event the run's jobs see. @default 'manual' (`pullRequest` with `fork`) */
  event?: string;
  /**
   * The run stands for a pull request from a fork: its jobs get no secret (their logs say so),
   * as a fork's pull request would. Needs the `pullRequest` event. @default false
   */
  fork?: boolean;
}

/** The event and fork flag a trigger sends: `--fork` alone means a pull request's. */
export function triggerEventOf(options: Pick<TriggerCommandOptions, 'event' | 'fork'>): {
  event: TriggerEvent;
  fork: boolean;
} {
  const fork = options.fork === true;
  const event = options.event ?? (fork ? TriggerEvent.pullRequest : TriggerEvent.manual);
  if (!(event in TriggerEvent))
    throw new ConfigError(`--event must be one of ${Object.keys(TriggerEvent).join(', ')}, not '${event}'`);
  if (fork && event !== TriggerEvent.pullRequest)
    throw new ConfigError(`--fork is for a pull request's run: give --event pullRequest (or no --event), not ${event}`);
  return { event: event as TriggerEvent, fork };
}

type InputValue = string | number | boolean;

const describeInput = (name: string, def: InputSpec) =>
  `${name} (${def.type === 'choice' ? `one of ${def.options.join('|')}` : def.type}${def.required && def.default === null ? ', required' : ''}${def.default !== null ? `, default ${def.default}` : ''})`;

/** The declared inputs, for an error that names them. */
const declaredList = (spec: PipelineSpec) => {
  const inputs = Object.entries(spec.triggers.manual?.inputs ?? {});
  return inputs.length
    ? `its inputs: ${inputs.map(([n, d]) => describeInput(n, d)).join(', ')}`
    : 'it declares no inputs';
};

/**
 * Types `name=value` pairs by the pipeline's declared manual inputs (numbers, booleans as
 * true/false, choices among their options) and checks that every required input is given.
 * A mistake is one BadInputError that lists the declared inputs.
 */
export function parseTriggerInputs(spec: PipelineSpec, pairs: readonly string[]): Record<string, InputValue> {
  const declared = spec.triggers.manual?.inputs ?? {};
  const inputs: Record<string, InputValue> = {};
  const problems: string[] = [];
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`--input ${pair}: expected name=value`);
      continue;
    }
    const name = pair.slice(0, eq);
    const text = pair.slice(eq + 1);
    const def = declared[name];
    if (!def) {
      problems.push(`pipeline '${spec.name}' has no input '${name}'`);
      continue;
    }
    if (def.type === 'number') {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) problems.push(`input '${name}' must be a number, not '${text}'`);
      else inputs[name] = n;
    } else if (def.type === 'boolean') {
      if (text === 'true' || text === 'false') inputs[name] = text === 'true';
      else problems.push(`input '${name}' must be true or false, not '${text}'`);
    } else if (def.type === 'choice' && !def.options.includes(text)) {
      problems.push(`input '${name}' must be one of ${def.options.join(', ')}, not '${text}'`);
    } else {
      inputs[name] = text;
    }
  }
  for (const [name, def] of Object.entries(declared))
    if (def.required && def.default === null && !(name in inputs) && !problems.some((p) => p.includes(`'${name}'`)))
      problems.push(`input '${name}' is required`);
  if (problems.length)
    throw new BadInputError(
      `${problems.join('; ')}: ${declaredList(spec)}`,
      problems.map((message) => ({ path: 'inputs', message })),
    );
  return inputs;
}

/**
 * The error of a pipeline the cluster does not have, with the deployed ones as its hint;
 * any other failure as it was.
 */
async function unknownPipeline(client: HiveForgeClient, name: string, error: unknown): Promise<unknown> {
  if (hiveforgeErrorCode(error) !== ErrorCodes.notFound) return error;
  const names = (await client.pipelines.list.query().catch(() => [])).map((p) => p._id);
  const hint = names.length
    ? `deployed: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}; hiveforge deploy adds one`
    : 'no pipeline is deployed yet: hiveforge deploy [file]';
  return new ClusterCommandError(ErrorCodes.notFound, `no pipeline named '${name}'`, { hint, cause: error });
}

/**
 * `hiveforge trigger PIPELINE`: checks the inputs against the pipeline's declared ones, starts a
 * run of its head version (a manual one unless `--event` says otherwise), and prints the run's id;
 * `--follow` follows it to its end and exits with its status (0 succeeded, 1 failed or cancelled).
 */
export async function triggerCommand(options: TriggerCommandOptions, io: CommandIO): Promise<number> {
  const { event, fork } = triggerEventOf(options);
  return withCluster(async ({ client }) => {
    const head = await client.pipelines.get.query({ name: options.pipeline }).catch(async (error: unknown) => {
      throw await unknownPipeline(client, options.pipeline, error);
    });
    if (!head.spec) throw new BadInputError(`pipeline '${options.pipeline}' has no stored version to run`);
    const inputs = parseTriggerInputs(head.spec, options.input ?? []);
    const run = await client.runs.trigger.mutate({
      pipeline: options.pipeline,
      event,
      branch: options.branch ?? null,
      commit: options.commit ?? null,
      inputs,
      fork,
      // A resend after a lost answer returns this run instead of starting a second one.
      requestId: `cli-${randomUUID()}`,
    });
    if (options.json && !options.follow) {
      io.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(`triggered run ${run._id} (version ${run.versionId})\n`);
    if (!options.follow) return 0;
    return followToEnd(client, run._id, io, { plain: options.plain });
  });
}
