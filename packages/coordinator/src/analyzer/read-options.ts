import { JOB_NAME_PATTERN, expandMatrix, instanceName } from '@hiveforge/sdk';
import { ts } from 'ts-morph';
import type { JobDeclaration, NeedDeclaration, PipelineDeclaration } from './declarations.js';
import type { DiagnosticSink } from './diagnostic-sink.js';
import type { Evaluator } from './evaluator.js';
import { OptionKeys } from './option-keys.js';
import { readCondition } from './read-condition.js';
import { ImageReader } from './read-image.js';
import { readMatrix } from './read-matrix.js';
import { readResources, readUser } from './read-resources.js';
import { TriggerReader } from './read-triggers.js';
import type { SourceFileInfo } from './source-host.js';
import { type StaticValue, describeValue } from './static-value.js';
import { unwrap } from './syntax.js';
import { ValueReader } from './value-reader.js';

/**
 * Checks static values against the shapes of the SDK's options and turns them into the plain
 * declarations `buildPipelineSpec` takes. Every mismatch is a diagnostic at the offending value
 * or key; reading goes on so one pass reports as much as possible.
 */
export class OptionReader {
  private readonly values: ValueReader;
  private readonly triggers: TriggerReader;
  private readonly images: ImageReader;

  constructor(
    private readonly evaluator: Evaluator,
    private readonly sink: DiagnosticSink,
  ) {
    this.values = new ValueReader(sink);
    this.triggers = new TriggerReader(this.values, sink);
    this.images = new ImageReader(evaluator, this.values);
  }

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
      this.values.invalid(
        at,
        'pipeline() needs a name and a function that declares its jobs',
        "Write pipeline('name', () => { job(…); }) or pipeline('name', { on: … }, () => { … }).",
      );
      if (!nameArg) return result;
    }
    result.name = this.values.name(this.evaluator.evaluate(nameArg, file, 'the pipeline name'), 'pipeline');
    const label = result.name ? `pipeline '${result.name}'` : 'the pipeline';
    const buildArg = args.length >= 3 ? args[2] : args[1];
    if (args.length >= 3) {
      const options = this.values.object(
        this.evaluator.evaluate(args[1] as ts.Expression, file, label),
        label,
        OptionKeys.pipeline,
      );
      if (options) {
        const on = options.get('on');
        if (on) result.on = this.triggers.read(on, `${label} › on`);
        const strict = options.get('strictImages');
        if (strict) result.strictImages = this.values.boolean(strict, `${label} › strictImages`);
        const env = options.get('env');
        if (env) result.env = this.values.scalarRecord(env, `${label} › env`);
      }
    }
    for (const extra of args.slice(3)) {
      this.values.invalid(
        { file, node: extra },
        `pipeline() takes at most 3 arguments; this one is ignored`,
        'Remove it.',
      );
    }
    if (buildArg) result.build = this.buildFunction(buildArg, file, label);
    return result;
  }

  private buildFunction(arg: ts.Expression, file: SourceFileInfo, label: string): PipelineDeclaration['build'] {
    const value = this.evaluator.evaluate(arg, file, `${label} › build function`);
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'function') {
      this.values.invalid(
        value,
        `${label} needs a function that declares its jobs as its last argument, got ${describeValue(value)}`,
        "Pass the jobs' declarations as a function: pipeline('name', { …options }, () => { job(…); }).",
      );
      return undefined;
    }
    const fn = value.fn;
    const isAsync = ts.canHaveModifiers(fn) && ts.getModifiers(fn)?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword);
    if (isAsync || (fn as ts.FunctionLikeDeclaration).asteriskToken) {
      this.values.invalid(
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
      this.values.invalid(at, 'job() needs a name and a body function', "Write job('name', async (ctx) => { … }).");
      return undefined;
    }
    const name = this.values.name(this.evaluator.evaluate(nameArg, file, 'the job name'), 'job');
    const label = name ? `job '${name}'` : 'the job';
    const body = args.length >= 3 ? args[2] : args[1];
    if (!body) {
      this.values.invalid(
        at,
        `${label} has no body function`,
        `Write job('${name ?? 'name'}', { …options }, async (ctx) => { … }).`,
      );
    } else if (isDataLiteral(unwrap(body)) || (args.length === 2 && this.resolvesToData(body, file))) {
      this.values.invalid(
        { file, node: body },
        `${label}: the last argument must be the body function, got ${args.length === 2 ? 'the options' : 'a literal'}`,
        `Write job('${name ?? 'name'}', { …options }, async (ctx) => { … }): options come second, the body last.`,
      );
    }
    for (const extra of args.slice(3)) {
      this.values.invalid(
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
    const options = this.values.object(value, label, OptionKeys.job);
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
          job.image = this.images.ref(v, l) ?? null;
          d.image = job.image?.spec ?? null;
          break;
        case 'labels':
          d.labels = this.values.stringList(v, l, false);
          break;
        case 'secrets':
          d.secrets = this.values.stringList(v, l, false);
          break;
        case 'env':
          d.env = this.values.scalarRecord(v, l);
          break;
        case 'timeout':
          d.timeout = this.values.duration(v, l);
          break;
        case 'retries':
          d.retries = this.values.integer(
            v,
            l,
            0,
            10,
            'Retries are extra attempts after a failure: an integer from 0 to 10.',
          );
          break;
        case 'disk':
          d.disk = this.values.byteSize(v, l);
          break;
        case 'matrix':
          d.matrix = readMatrix(v, l, job.name, this.values, this.sink);
          break;
        case 'if':
          if (v.kind !== 'null') d.if = readCondition(v, l, this.values);
          break;
        case 'concurrency':
          if (v.kind !== 'null') d.concurrency = this.values.string(v, l, true);
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
    const items = this.values.array(value, label, 'a list of jobs', "needs: [build, 'lint']");
    const needs: NeedDeclaration[] = [];
    for (const item of items ?? []) {
      if (item.kind === 'string') needs.push({ name: item.value, at: item });
      else if (item.kind === 'job') {
        const nameArg = item.call.arguments[0];
        const name = nameArg && this.evaluator.evaluate(nameArg, item.callFile, 'the job name');
        // An invalid name is reported where the job is declared, not at every reference.
        if (name?.kind === 'string' && JOB_NAME_PATTERN.test(name.value)) needs.push({ name: name.value, at: item });
      } else if (item.kind !== 'unknown') {
        this.values.invalid(
          item,
          `${label}: expected a job (the value job() returns) or a job name, got ${describeValue(item)}`,
          "List the jobs this one waits for: needs: [build, 'lint'].",
        );
      }
    }
    return needs;
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
