import {
  type ByteSize,
  type DeclaredJob,
  type Duration,
  ErrorCodes,
  type ImageSpec,
  type InputDefinition,
  JOB_NAME_PATTERN,
  type JobCondition,
  type ManualTrigger,
  type MatrixDefinition,
  type PullRequestTrigger,
  type PushTrigger,
  TriggerEvent,
  type Triggers,
  expandMatrix,
  instanceName,
  parseByteSize,
  parseCron,
  parseDuration,
  resolveImage,
} from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import { type DiagnosticSink, type Located, positionOf } from './diagnostic-sink.js';
import type { SourceFileInfo } from './source-host.js';
import { readResources, readUser } from './read-resources.js';
import type { Evaluator } from './evaluator.js';
import { type StaticValue, describeValue } from './static-value.js';
import { unwrap } from './syntax.js';
import { didYouMean } from './suggest.js';

/** Keys of the options objects users write, in the order the docs list them. */
export const OptionKeys = {
  pipeline: ['on', 'strictImages', 'env'],
  job: [
    'needs',
    'image',
    'labels',
    'env',
    'secrets',
    'timeout',
    'retries',
    'disk',
    'matrix',
    'if',
    'concurrency',
    'resources',
    'user',
  ],
  image: ['from', 'steps', 'env', 'workdir'],
  triggers: ['push', 'pullRequest', 'schedule', 'manual'],
  push: ['branches', 'tags', 'paths'],
  pullRequest: ['branches', 'paths'],
  manual: ['inputs'],
  input: ['type', 'description', 'required', 'default', 'options'],
  condition: ['branch', 'event'],
} as const;

/** The most instances one job's matrix may expand to. */
export const MAX_MATRIX_INSTANCES = 1_000;

const INPUT_TYPES = ['string', 'number', 'boolean', 'choice'] as const;
const EVENTS: readonly string[] = Object.values(TriggerEvent);
const NAME_RULE = 'use letters, digits, "_", "." and "-", starting with a letter or digit (at most 100 characters)';
const quote = (s: string) => `\`${s}\``;
const quoteName = (s: string) => `'${s}'`;

/** A need of a job, with where it is written. */
export interface NeedDeclaration {
  name: string;
  at: Located;
}

/** An image as read from an `image()` call. */
export interface ImageDeclaration {
  spec: ImageSpec;
  at: Located;
  /** Where `from` is written: unpinned-image diagnostics point here. */
  fromAt: Located;
}

/** A `job()` call as read: the declared job plus the positions graph checks need. */
export interface JobDeclaration {
  name: string;
  at: Located;
  needs: NeedDeclaration[];
  image: ImageDeclaration | null;
  instances: string[];
  declared: DeclaredJob;
}

/** A `pipeline()` call as read. */
export interface PipelineDeclaration {
  name: string | undefined;
  at: Located;
  on: Triggers | Triggers[] | undefined;
  strictImages: boolean | undefined;
  env: Record<string, string | number | boolean> | undefined;
  /** The function that declares the jobs, when it could be found. */
  build: { fn: ts.SignatureDeclaration; file: SourceFileInfo } | undefined;
}

type Props = Map<string, StaticValue>;

/**
 * Checks static values against the shapes of the SDK's options and turns them into the plain
 * declarations `buildPipelineSpec` takes. Every mismatch is a diagnostic at the offending value
 * or key; reading goes on so one pass reports as much as possible.
 */
export class OptionReader {
  private readonly images = new Map<ts.Node, ImageDeclaration | undefined>();

  constructor(
    private readonly evaluator: Evaluator,
    private readonly sink: DiagnosticSink,
  ) {}

  /** Reads `pipeline(name, options?, build)`. */
  readPipeline(call: ts.CallExpression, file: SourceFileInfo): PipelineDeclaration {
    const at = { file, node: call };
    const args = call.arguments;
    const result: PipelineDeclaration = {
      name: undefined,
      at,
      on: undefined,
      strictImages: undefined,
      env: undefined,
      build: undefined,
    };
    const nameArg = args[0];
    if (!nameArg || args.length < 2) {
      this.invalid(
        at,
        'pipeline() needs a name and a function that declares its jobs',
        "Write pipeline('name', () => { job(…); }) or pipeline('name', { on: … }, () => { … }).",
      );
      if (!nameArg) return result;
    }
    result.name = this.name(this.evaluator.evaluate(nameArg, file, 'the pipeline name'), 'pipeline');
    const label = result.name ? `pipeline '${result.name}'` : 'the pipeline';
    const buildArg = args.length >= 3 ? args[2] : args[1];
    if (args.length >= 3) {
      const options = this.object(
        this.evaluator.evaluate(args[1] as ts.Expression, file, label),
        label,
        OptionKeys.pipeline,
      );
      if (options) {
        const on = options.get('on');
        if (on) result.on = this.triggers(on, `${label} › on`);
        const strict = options.get('strictImages');
        if (strict) result.strictImages = this.boolean(strict, `${label} › strictImages`);
        const env = options.get('env');
        if (env) result.env = this.scalarRecord(env, `${label} › env`);
      }
    }
    for (const extra of args.slice(3)) {
      this.invalid({ file, node: extra }, `pipeline() takes at most 3 arguments; this one is ignored`, 'Remove it.');
    }
    if (buildArg) result.build = this.buildFunction(buildArg, file, label);
    return result;
  }

  private buildFunction(arg: ts.Expression, file: SourceFileInfo, label: string): PipelineDeclaration['build'] {
    const value = this.evaluator.evaluate(arg, file, `${label} › build function`);
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'function') {
      this.invalid(
        value,
        `${label} needs a function that declares its jobs as its last argument, got ${describeValue(value)}`,
        "Pass the jobs' declarations as a function: pipeline('name', { …options }, () => { job(…); }).",
      );
      return undefined;
    }
    const fn = value.fn;
    const isAsync = ts.canHaveModifiers(fn) && ts.getModifiers(fn)?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
    if (isAsync || (fn as ts.FunctionLikeDeclaration).asteriskToken) {
      this.invalid(
        { file: value.file, node: fn },
        `${label}: the function that declares the jobs must be synchronous`,
        'Remove `async`: jobs are declared synchronously; put asynchronous work in job bodies.',
      );
    }
    return { fn, file: value.file };
  }

  /** Reads `job(name, options?, body)`; undefined when the name cannot be read. */
  readJob(call: ts.CallExpression, file: SourceFileInfo): JobDeclaration | undefined {
    const at = { file, node: call };
    const args = call.arguments;
    const nameArg = args[0];
    if (!nameArg) {
      this.invalid(at, 'job() needs a name and a body function', "Write job('name', async (ctx) => { … }).");
      return undefined;
    }
    const name = this.name(this.evaluator.evaluate(nameArg, file, 'the job name'), 'job');
    const label = name ? `job '${name}'` : 'the job';
    const body = args.length >= 3 ? args[2] : args[1];
    if (!body) {
      this.invalid(
        at,
        `${label} has no body function`,
        `Write job('${name ?? 'name'}', { …options }, async (ctx) => { … }).`,
      );
    } else if (isDataLiteral(unwrap(body)) || (args.length === 2 && this.resolvesToData(body, file))) {
      this.invalid(
        { file, node: body },
        `${label}: the last argument must be the body function, got ${args.length === 2 ? 'the options' : 'a literal'}`,
        `Write job('${name ?? 'name'}', { …options }, async (ctx) => { … }): options come second, the body last.`,
      );
    }
    for (const extra of args.slice(3)) {
      this.invalid(
        { file, node: extra },
        `${label}: job() takes at most 3 arguments; this one is ignored`,
        'Remove it.',
      );
    }
    const job: JobDeclaration = {
      name: name ?? '',
      at,
      needs: [],
      image: null,
      instances: [],
      declared: { name: name ?? '', source: null },
    };
    if (args.length >= 3) this.jobOptions(this.evaluator.evaluate(args[1] as ts.Expression, file, label), label, job);
    if (!name) return undefined;
    job.instances = job.declared.matrix
      ? expandMatrix(job.declared.matrix).map((combo) => instanceName(name, combo))
      : [name];
    return job;
  }

  /** True when `job(name, x)` passes options where the body belongs (`x` is a const object). */
  private resolvesToData(body: ts.Expression, file: SourceFileInfo): boolean {
    const e = unwrap(body);
    if (!ts.isIdentifier(e) && !ts.isPropertyAccessExpression(e)) return false;
    const resolved = this.evaluator.resolve(e, file);
    return resolved.kind === 'expression' && isDataLiteral(resolved.expression);
  }

  private jobOptions(value: StaticValue, label: string, job: JobDeclaration): void {
    const options = this.object(value, label, OptionKeys.job);
    if (!options) return;
    const d = job.declared;
    for (const [key, v] of options) {
      const l = `${label} › ${key}`;
      switch (key) {
        case 'needs':
          job.needs = this.needs(v, l);
          d.needs = job.needs.map((n) => n.name);
          break;
        case 'image':
          if (v.kind === 'null') break;
          job.image = this.imageRef(v, l) ?? null;
          d.image = job.image?.spec ?? null;
          break;
        case 'labels':
          d.labels = this.stringList(v, l, false);
          break;
        case 'secrets':
          d.secrets = this.stringList(v, l, false);
          break;
        case 'env':
          d.env = this.scalarRecord(v, l);
          break;
        case 'timeout':
          d.timeout = this.duration(v, l);
          break;
        case 'retries':
          d.retries = this.integer(v, l, 0, 10, 'Retries are extra attempts after a failure: an integer from 0 to 10.');
          break;
        case 'disk':
          d.disk = this.byteSize(v, l);
          break;
        case 'matrix':
          d.matrix = this.matrix(v, l, job.name);
          break;
        case 'if':
          if (v.kind !== 'null') d.if = this.condition(v, l);
          break;
        case 'concurrency':
          if (v.kind !== 'null') d.concurrency = this.string(v, l, true);
          break;
        case 'resources':
          d.resources = readResources(v, l, this.sink);
          break;
        case 'user':
          d.user = readUser(v, l, this.sink);
          break;
      }
    }
  }

  private needs(value: StaticValue, label: string): NeedDeclaration[] {
    const items = this.array(value, label, 'a list of jobs', "needs: [build, 'lint']");
    const needs: NeedDeclaration[] = [];
    for (const item of items ?? []) {
      if (item.kind === 'string') needs.push({ name: item.value, at: item });
      else if (item.kind === 'job') {
        const nameArg = item.call.arguments[0];
        const name = nameArg && this.evaluator.evaluate(nameArg, item.callFile, 'the job name');
        // An invalid name is reported where the job is declared, not at every reference.
        if (name?.kind === 'string' && JOB_NAME_PATTERN.test(name.value)) needs.push({ name: name.value, at: item });
      } else if (item.kind !== 'unknown') {
        this.invalid(
          item,
          `${label}: expected a job (the value job() returns) or a job name, got ${describeValue(item)}`,
          "List the jobs this one waits for: needs: [build, 'lint'].",
        );
      }
    }
    return needs;
  }

  private imageRef(value: StaticValue, label: string): ImageDeclaration | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'image') {
      this.invalid(
        value,
        `${label} must be an image declared with image(), got ${describeValue(value)}`,
        "Declare the image once and reference it: const node20 = image('node20', { from: 'node:20@sha256:…' }).",
      );
      return undefined;
    }
    return this.image(value);
  }

  /** Reads an `image(name, options)` call, once per call. */
  image(value: Extract<StaticValue, { kind: 'image' }>): ImageDeclaration | undefined {
    if (this.images.has(value.call)) return this.images.get(value.call);
    const declaration = this.readImage(value.call, value.callFile);
    this.images.set(value.call, declaration);
    return declaration;
  }

  private readImage(call: ts.CallExpression, file: SourceFileInfo): ImageDeclaration | undefined {
    const at = { file, node: call };
    const [nameArg, optionsArg] = call.arguments;
    if (!nameArg || !optionsArg) {
      this.invalid(at, 'image() needs a name and options', "Write image('node20', { from: 'node:20@sha256:…' }).");
      return undefined;
    }
    const name = this.name(this.evaluator.evaluate(nameArg, file, 'the image name'), 'image');
    const label = name ? `image '${name}'` : 'the image';
    const optionsValue = this.evaluator.evaluate(optionsArg, file, label);
    const options = this.object(optionsValue, label, OptionKeys.image);
    if (!options) return undefined;
    const fromValue = options.get('from');
    if (!fromValue) {
      if (optionsValue.kind === 'object' && !optionsValue.partial) {
        this.invalid(
          optionsValue,
          `${label} has no \`from\``,
          "Name the base image, pinned by digest: from: 'node:20@sha256:…'.",
        );
      }
      return undefined;
    }
    const from = this.string(fromValue, `${label} › from`, true);
    const stepsValue = options.get('steps');
    const steps = stepsValue ? this.stringList(stepsValue, `${label} › steps`, false) : [];
    const envValue = options.get('env');
    const env = envValue ? this.stringRecord(envValue, `${label} › env`) : {};
    const workdirValue = options.get('workdir');
    const workdir =
      workdirValue && workdirValue.kind !== 'null' ? this.string(workdirValue, `${label} › workdir`, true) : undefined;
    if (
      !name ||
      from === undefined ||
      !steps ||
      !env ||
      (workdirValue && workdirValue.kind !== 'null' && workdir === undefined)
    ) {
      return undefined;
    }
    return {
      spec: resolveImage(name, { from, steps, env, ...(workdir === undefined ? {} : { workdir }) }),
      at,
      fromAt: fromValue,
    };
  }

  private triggers(value: StaticValue, label: string): Triggers | Triggers[] | undefined {
    if (value.kind === 'array') {
      const list: Triggers[] = [];
      value.items.forEach((item, i) => {
        const t = this.triggerSet(item, `${label}[${i}]`);
        if (t) list.push(t);
      });
      return list;
    }
    return this.triggerSet(value, label);
  }

  private triggerSet(value: StaticValue, label: string): Triggers | undefined {
    const options = this.object(value, label, OptionKeys.triggers);
    if (!options) return undefined;
    const triggers: Triggers = {};
    for (const [key, v] of options) {
      const l = `${label} › ${key}`;
      if (key === 'schedule') {
        const crons = this.stringList(v, l, true, 'a cron expression or a list of them');
        if (crons) {
          triggers.schedule = crons;
          this.checkCrons(v);
        }
        continue;
      }
      if (v.kind === 'boolean' && v.value) {
        triggers[key as 'push' | 'pullRequest' | 'manual'] = true;
        continue;
      }
      if (v.kind !== 'object') {
        if (v.kind !== 'unknown') {
          this.invalid(
            v,
            `${l} must be \`true\` or an options object, got ${describeValue(v)}`,
            key === 'manual'
              ? 'Write manual: true, or manual: { inputs: { … } }; remove the key to disable the trigger.'
              : `Write ${key}: true, or ${key}: { branches: ['main'] }; remove the key to disable the trigger.`,
          );
        }
        continue;
      }
      if (key === 'push') {
        const o = this.object(v, `${l} trigger`, OptionKeys.push);
        if (o) triggers.push = this.globLists(o, l) as PushTrigger;
      } else if (key === 'pullRequest') {
        const o = this.object(v, `${l} trigger`, OptionKeys.pullRequest);
        if (o) triggers.pullRequest = this.globLists(o, l) as PullRequestTrigger;
      } else {
        const o = this.object(v, `${l} trigger`, OptionKeys.manual);
        if (o) triggers.manual = this.manual(o, l);
      }
    }
    return triggers;
  }

  private globLists(options: Props, label: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [key, v] of options) {
      const list = this.stringList(v, `${label} › ${key}`, true);
      if (list) out[key] = list;
    }
    return out;
  }

  private checkCrons(value: StaticValue): void {
    const items = value.kind === 'array' ? value.items : [value];
    for (const item of items) {
      if (item.kind !== 'string') continue;
      const parsed = parseCron(item.value);
      if (!parsed.ok) {
        this.sink.error(
          ErrorCodes.analysisInvalidCron,
          item,
          `invalid cron expression: ${parsed.error}`,
          "Use five fields, minute hour day-of-month month day-of-week, in UTC (for example '0 3 * * 1-5'), or @hourly, @daily, @weekly, @monthly, @yearly.",
        );
      }
    }
  }

  private manual(options: Props, label: string): ManualTrigger {
    const inputsValue = options.get('inputs');
    if (!inputsValue) return {};
    const inputs = this.record(inputsValue, `${label} › inputs`);
    if (!inputs) return {};
    const out: Record<string, InputDefinition> = {};
    for (const [key, v] of inputs) {
      const input = this.input(v, `${label} › inputs › ${key}`);
      if (input) out[key] = input;
    }
    return { inputs: out };
  }

  private input(value: StaticValue, label: string): InputDefinition | undefined {
    const o = this.object(value, label, OptionKeys.input);
    if (!o) return undefined;
    const typeValue = o.get('type');
    if (!typeValue) {
      if (value.kind === 'object' && !value.partial) {
        this.invalid(
          value,
          `${label} has no \`type\``,
          `Give the input a type: ${INPUT_TYPES.map(quoteName).join(', ')}.`,
        );
      }
      return undefined;
    }
    const type = this.oneOf(typeValue, `${label} › type`, INPUT_TYPES);
    if (!type) return undefined;
    const definition: Record<string, unknown> = { type };
    const description = o.get('description');
    if (description) definition.description = this.string(description, `${label} › description`, false);
    const required = o.get('required');
    if (required) definition.required = this.boolean(required, `${label} › required`);
    const optionsValue = o.get('options');
    let choices: string[] | undefined;
    if (type === 'choice') {
      if (!optionsValue)
        this.invalid(
          value,
          `${label}: a choice input needs \`options\``,
          "List the choices: options: ['staging', 'production'].",
        );
      else {
        choices = this.stringList(optionsValue, `${label} › options`, false);
        if (choices?.length === 0)
          this.invalid(optionsValue, `${label} › options is empty`, 'List at least one choice.');
        definition.options = choices;
      }
    } else if (optionsValue) {
      this.invalid(
        optionsValue,
        `${label} › options only applies to inputs of type 'choice'`,
        "Remove `options`, or make the input type: 'choice'.",
      );
    }
    const defaultValue = o.get('default');
    if (defaultValue && defaultValue.kind !== 'unknown') {
      const expected = type === 'choice' ? 'string' : type;
      if (defaultValue.kind !== expected) {
        this.invalid(
          defaultValue,
          `${label} › default must be a ${expected} for a ${type} input, got ${describeValue(defaultValue)}`,
          'Make the default match the input type.',
        );
      } else if (choices?.length && !choices.includes((defaultValue as { value: string }).value)) {
        this.invalid(
          defaultValue,
          `${label} › default ${JSON.stringify((defaultValue as { value: string }).value)} is not one of the options (${choices.join(', ')})`,
          'Use one of the options as the default.',
        );
      } else definition.default = (defaultValue as { value: unknown }).value;
    }
    return definition as unknown as InputDefinition;
  }

  private condition(value: StaticValue, label: string): JobCondition | undefined {
    const o = this.object(value, label, OptionKeys.condition);
    if (!o) return undefined;
    const condition: { branch?: string[]; event?: TriggerEvent[] } = {};
    const branch = o.get('branch');
    if (branch) condition.branch = this.stringList(branch, `${label} › branch`, true);
    const event = o.get('event');
    if (event) {
      const items = event.kind === 'array' ? event.items : [event];
      const events: TriggerEvent[] = [];
      for (const item of items) {
        const e = this.oneOf(item, `${label} › event`, EVENTS);
        if (e) events.push(e as TriggerEvent);
      }
      condition.event = events;
    }
    return condition;
  }

  private matrix(value: StaticValue, label: string, jobName: string): MatrixDefinition | undefined {
    const entries = this.record(value, label);
    if (!entries) return undefined;
    if (entries.size === 0 && value.kind === 'object' && !value.partial) {
      this.invalid(value, `${label} is empty`, 'Give each matrix key a list of values: matrix: { node: [18, 20] }.');
      return undefined;
    }
    const matrix: Record<string, (string | number | boolean)[]> = {};
    const collisions: {
      key: string;
      first: StaticValue;
      second: StaticValue & { value: string | number | boolean };
    }[] = [];
    let count = 1;
    let ok = true;
    for (const [key, v] of entries) {
      const items = this.array(v, `${label} › ${key}`, 'a list of values', '[18, 20]');
      if (!items) {
        ok = false;
        continue;
      }
      if (items.length === 0 && v.kind === 'array' && !v.partial) {
        this.invalid(
          v,
          `${label} › ${key} has no values, so the job would have no instances`,
          'List at least one value, or remove the key.',
        );
        ok = false;
        continue;
      }
      const seen = new Map<string, StaticValue>();
      const values: (string | number | boolean)[] = [];
      for (const item of items) {
        if (item.kind === 'unknown') {
          ok = false;
          continue;
        }
        if (item.kind !== 'string' && item.kind !== 'number' && item.kind !== 'boolean') {
          this.invalid(
            item,
            `${label} › ${key}: values must be strings, numbers or booleans, got ${describeValue(item)}`,
            'Use scalar values.',
          );
          ok = false;
          continue;
        }
        const text = String(item.value);
        const first = seen.get(text);
        if (first) {
          collisions.push({ key, first, second: item });
          ok = false;
          continue;
        }
        seen.set(text, item);
        values.push(item.value);
      }
      matrix[key] = values;
      count *= Math.max(values.length, 1);
    }
    for (const { key, first, second } of collisions) {
      // Name one colliding instance in full: the other keys take their first values.
      const combination = Object.fromEntries(
        Object.entries(matrix).map(([k, values]) => [k, k === key ? second.value : (values[0] ?? '')]),
      );
      const { line, column } = positionOf(first);
      this.sink.error(
        ErrorCodes.analysisDuplicateJob,
        second,
        `${label} › ${key} repeats the value ${JSON.stringify(String(second.value))} (first at line ${line}, column ${column}), so two instances of job '${jobName}' would both be named '${instanceName(jobName, combination)}'`,
        'Remove the repeated value: matrix values must be distinct as text (1 and "1" count as the same).',
      );
    }
    if (count > MAX_MATRIX_INSTANCES) {
      this.invalid(
        value,
        `${label} expands to ${count} instances; at most ${MAX_MATRIX_INSTANCES} are allowed per job`,
        'Reduce the number of values, or split the job.',
      );
      return undefined;
    }
    return ok ? matrix : undefined;
  }

  private duration(value: StaticValue, label: string): Duration | undefined {
    if (value.kind === 'unknown') return undefined;
    const hint = "Write a number of milliseconds or a duration string like '90s', '15m', '1h30m'.";
    if (value.kind !== 'string' && value.kind !== 'number') {
      this.invalid(value, `${label} must be a duration, got ${describeValue(value)}`, hint);
      return undefined;
    }
    let ms: number;
    try {
      ms = parseDuration(value.value);
    } catch {
      this.invalid(value, `${label}: ${JSON.stringify(value.value)} is not a valid duration`, hint);
      return undefined;
    }
    if (ms <= 0) {
      this.invalid(value, `${label} must be longer than zero, got ${JSON.stringify(value.value)}`, hint);
      return undefined;
    }
    return value.value as Duration;
  }

  private byteSize(value: StaticValue, label: string): ByteSize | undefined {
    if (value.kind === 'unknown') return undefined;
    const hint = "Write a number of bytes or a size like '512Mi' or '10Gi'.";
    if (value.kind !== 'string' && value.kind !== 'number') {
      this.invalid(value, `${label} must be a size, got ${describeValue(value)}`, hint);
      return undefined;
    }
    let bytes: number;
    try {
      bytes = parseByteSize(value.value);
    } catch {
      this.invalid(value, `${label}: ${JSON.stringify(value.value)} is not a valid size`, hint);
      return undefined;
    }
    if (bytes <= 0) {
      this.invalid(value, `${label} must be larger than zero, got ${JSON.stringify(value.value)}`, hint);
      return undefined;
    }
    return value.value as ByteSize;
  }

  private name(value: StaticValue, kind: 'pipeline' | 'job' | 'image'): string | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'string') {
      this.invalid(
        value,
        `the ${kind} name must be a string, got ${describeValue(value)}`,
        `Name the ${kind} with a string literal.`,
      );
      return undefined;
    }
    if (!JOB_NAME_PATTERN.test(value.value)) {
      this.invalid(
        value,
        `${kind} name ${JSON.stringify(value.value)} is invalid: ${NAME_RULE}`,
        `Rename it, for example ${JSON.stringify(suggestName(value.value))}.`,
      );
      return undefined;
    }
    return value.value;
  }

  private object(value: StaticValue, label: string, keys: readonly string[]): Props | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'object') {
      this.invalid(
        value,
        `${label}: expected an options object, got ${describeValue(value)}`,
        `Write an object literal with any of: ${keys.join(', ')}.`,
      );
      return undefined;
    }
    const out: Props = new Map();
    for (const [key, p] of value.properties) {
      if (!keys.includes(key)) {
        this.invalid(
          { file: p.keyFile, node: p.keyNode },
          `${label} has no option ${quote(key)}.${didYouMean(key, keys, quote)}`,
          `The options are: ${keys.join(', ')}.`,
        );
        continue;
      }
      if (p.value.kind !== 'undefined') out.set(key, p.value);
    }
    return out;
  }

  private record(value: StaticValue, label: string): Props | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'object') {
      this.invalid(value, `${label} must be an object, got ${describeValue(value)}`, 'Write an object literal.');
      return undefined;
    }
    const out: Props = new Map();
    for (const [key, p] of value.properties) out.set(key, p.value);
    return out;
  }

  private scalarRecord(value: StaticValue, label: string): Record<string, string | number | boolean> | undefined {
    const props = this.record(value, label);
    if (!props) return undefined;
    const out: Record<string, string | number | boolean> = {};
    for (const [key, v] of props) {
      if (v.kind === 'string' || v.kind === 'number' || v.kind === 'boolean') out[key] = v.value;
      else if (v.kind !== 'unknown') {
        this.invalid(
          v,
          `${label} › ${key} must be a string, number or boolean, got ${describeValue(v)}`,
          'Environment values are strings; numbers and booleans are converted.',
        );
      }
    }
    return out;
  }

  private stringRecord(value: StaticValue, label: string): Record<string, string> | undefined {
    const props = this.record(value, label);
    if (!props) return undefined;
    const out: Record<string, string> = {};
    for (const [key, v] of props) {
      const s = this.string(v, `${label} › ${key}`, false);
      if (s !== undefined) out[key] = s;
    }
    return out;
  }

  private array(value: StaticValue, label: string, expected: string, example: string): StaticValue[] | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'array') {
      this.invalid(
        value,
        `${label} must be ${expected}, got ${describeValue(value)}`,
        `Write ${expected}: ${example}.`,
      );
      return undefined;
    }
    return value.partial ? undefined : value.items;
  }

  private stringList(
    value: StaticValue,
    label: string,
    single: boolean,
    expected = 'a list of strings',
  ): string[] | undefined {
    if (single && value.kind === 'string') return [value.value];
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'array') {
      this.invalid(
        value,
        `${label} must be ${single ? 'a string or ' : ''}${expected}, got ${describeValue(value)}`,
        `Write ${expected}: ['…'].`,
      );
      return undefined;
    }
    const out: string[] = [];
    let ok = !value.partial;
    for (const item of value.items) {
      const s = this.string(item, `${label} item`, false);
      if (s === undefined) ok = false;
      else out.push(s);
    }
    return ok ? out : undefined;
  }

  private string(value: StaticValue, label: string, nonEmpty: boolean): string | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'string') {
      this.invalid(value, `${label} must be a string, got ${describeValue(value)}`, 'Write a string literal.');
      return undefined;
    }
    if (nonEmpty && value.value.trim() === '') {
      this.invalid(value, `${label} must not be empty`, 'Write a non-empty string.');
      return undefined;
    }
    return value.value;
  }

  private boolean(value: StaticValue, label: string): boolean | undefined {
    if (value.kind === 'boolean') return value.value;
    if (value.kind !== 'unknown')
      this.invalid(value, `${label} must be true or false, got ${describeValue(value)}`, 'Write `true` or `false`.');
    return undefined;
  }

  private integer(value: StaticValue, label: string, min: number, max: number, hint: string): number | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'number' || !Number.isInteger(value.value) || value.value < min || value.value > max) {
      this.invalid(value, `${label} must be an integer from ${min} to ${max}, got ${describeValue(value)}`, hint);
      return undefined;
    }
    return value.value;
  }

  private oneOf<T extends string>(value: StaticValue, label: string, allowed: readonly T[]): T | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind === 'string' && (allowed as readonly string[]).includes(value.value)) return value.value as T;
    const got = value.kind === 'string' ? value.value : '';
    this.invalid(
      value,
      `${label} must be one of ${allowed.map(quoteName).join(', ')}, got ${describeValue(value)}.${didYouMean(got, allowed, quoteName)}`,
      `Use one of: ${allowed.map(quoteName).join(', ')}.`,
    );
    return undefined;
  }

  private invalid(at: Located, message: string, hint: string): void {
    this.sink.error(ErrorCodes.analysisInvalidValue, at, message, hint);
  }
}

function isDataLiteral(e: ts.Expression): boolean {
  return (
    ts.isObjectLiteralExpression(e) ||
    ts.isArrayLiteralExpression(e) ||
    ts.isStringLiteralLike(e) ||
    ts.isNumericLiteral(e) ||
    e.kind === ts.SyntaxKind.TrueKeyword ||
    e.kind === ts.SyntaxKind.FalseKeyword ||
    e.kind === ts.SyntaxKind.NullKeyword
  );
}

function suggestName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 100);
  return cleaned || 'job';
}
