import { resolveImage } from '@hiveforge/sdk';
import type { ts } from 'ts-morph';
import type { ImageDeclaration } from './declarations.js';
import type { Evaluator } from './evaluator.js';
import { OptionKeys } from './option-keys.js';
import type { SourceFileInfo } from './source-host.js';
import { type StaticValue, describeValue } from './static-value.js';
import type { ValueReader } from './value-reader.js';

/** Reads `image(name, options)` calls, each once however many jobs reference it. */
export class ImageReader {
  private readonly images = new Map<ts.Node, ImageDeclaration | undefined>();

  constructor(
    private readonly evaluator: Evaluator,
    private readonly values: ValueReader,
  ) {}

  /** Reads a job's `image`: a reference to an `image()` call. */
  ref(value: StaticValue, label: string): ImageDeclaration | undefined {
    if (value.kind === 'unknown') return undefined;
    if (value.kind !== 'image') {
      this.values.invalid(
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
      this.values.invalid(
        at,
        'image() needs a name and options',
        "Write image('node20', { from: 'node:20@sha256:…' }).",
      );
      return undefined;
    }
    const name = this.values.name(this.evaluator.evaluate(nameArg, file, 'the image name'), 'image');
    const label = name ? `image '${name}'` : 'the image';
    const optionsValue = this.evaluator.evaluate(optionsArg, file, label);
    const options = this.values.object(optionsValue, label, OptionKeys.image);
    if (!options) return undefined;
    const fromValue = options.get('from');
    if (!fromValue) {
      if (optionsValue.kind === 'object' && !optionsValue.partial) {
        this.values.invalid(
          optionsValue,
          `${label} has no \`from\``,
          "Name the base image, pinned by digest: from: 'node:20@sha256:…'.",
        );
      }
      return undefined;
    }
    const from = this.values.string(fromValue, `${label} › from`, true);
    const stepsValue = options.get('steps');
    const steps = stepsValue ? this.values.stringList(stepsValue, `${label} › steps`, false) : [];
    const envValue = options.get('env');
    const env = envValue ? this.values.stringRecord(envValue, `${label} › env`) : {};
    const workdirValue = options.get('workdir');
    const workdir =
      workdirValue && workdirValue.kind !== 'null'
        ? this.values.string(workdirValue, `${label} › workdir`, true)
        : undefined;
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
}
