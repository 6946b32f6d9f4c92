import {
  ErrorCodes,
  type InputDefinition,
  type ManualTrigger,
  type PullRequestTrigger,
  type PushTrigger,
  type Triggers,
  parseCron,
} from '@hiveforge/sdk';
import type { DiagnosticSink } from './diagnostic-sink.js';
import { OptionKeys } from './option-keys.js';
import { type StaticValue, describeValue } from './static-value.js';
import { type Props, type ValueReader, quoteName } from './value-reader.js';

const INPUT_TYPES = ['string', 'number', 'boolean', 'choice'] as const;

/** Reads a pipeline's triggers (`on`): push, pull request, schedules, manual inputs. */
export class TriggerReader {
  constructor(
    private readonly values: ValueReader,
    private readonly sink: DiagnosticSink,
  ) {}

  /** Reads a pipeline's `on`: one set of triggers or a list of them. */
  read(value: StaticValue, label: string): Triggers | Triggers[] | undefined {
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
    const options = this.values.object(value, label, OptionKeys.triggers);
    if (!options) return undefined;
    const triggers: Triggers = {};
    for (const [key, v] of options) {
      const l = `${label} › ${key}`;
      if (key === 'schedule') {
        const crons = this.values.stringList(v, l, true, 'a cron expression or a list of them');
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
          this.values.invalid(
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
        const o = this.values.object(v, `${l} trigger`, OptionKeys.push);
        if (o) triggers.push = this.globLists(o, l) as PushTrigger;
      } else if (key === 'pullRequest') {
        const o = this.values.object(v, `${l} trigger`, OptionKeys.pullRequest);
        if (o) triggers.pullRequest = this.globLists(o, l) as PullRequestTrigger;
      } else {
        const o = this.values.object(v, `${l} trigger`, OptionKeys.manual);
        if (o) triggers.manual = this.manual(o, l);
      }
    }
    return triggers;
  }

  private globLists(options: Props, label: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [key, v] of options) {
      const list = this.values.stringList(v, `${label} › ${key}`, true);
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
    const inputs = this.values.record(inputsValue, `${label} › inputs`);
    if (!inputs) return {};
    const out: Record<string, InputDefinition> = {};
    for (const [key, v] of inputs) {
      const input = this.input(v, `${label} › inputs › ${key}`);
      if (input) out[key] = input;
    }
    return { inputs: out };
  }

  private input(value: StaticValue, label: string): InputDefinition | undefined {
    const o = this.values.object(value, label, OptionKeys.input);
    if (!o) return undefined;
    const typeValue = o.get('type');
    if (!typeValue) {
      if (value.kind === 'object' && !value.partial) {
        this.values.invalid(
          value,
          `${label} has no \`type\``,
          `Give the input a type: ${INPUT_TYPES.map(quoteName).join(', ')}.`,
        );
      }
      return undefined;
    }
    const type = this.values.oneOf(typeValue, `${label} › type`, INPUT_TYPES);
    if (!type) return undefined;
    const definition: Record<string, unknown> = { type };
    const description = o.get('description');
    if (description) definition.description = this.values.string(description, `${label} › description`, false);
    const required = o.get('required');
    if (required) definition.required = this.values.boolean(required, `${label} › required`);
    const optionsValue = o.get('options');
    let choices: string[] | undefined;
    if (type === 'choice') {
      if (!optionsValue)
        this.values.invalid(
          value,
          `${label}: a choice input needs \`options\``,
          "List the choices: options: ['staging', 'production'].",
        );
      else {
        choices = this.values.stringList(optionsValue, `${label} › options`, false);
        if (choices?.length === 0)
          this.values.invalid(optionsValue, `${label} › options is empty`, 'List at least one choice.');
        definition.options = choices;
      }
    } else if (optionsValue) {
      this.values.invalid(
        optionsValue,
        `${label} › options only applies to inputs of type 'choice'`,
        "Remove `options`, or make the input type: 'choice'.",
      );
    }
    const defaultValue = o.get('default');
    if (defaultValue && defaultValue.kind !== 'unknown') {
      const expected = type === 'choice' ? 'string' : type;
      if (defaultValue.kind !== expected) {
        this.values.invalid(
          defaultValue,
          `${label} › default must be a ${expected} for a ${type} input, got ${describeValue(defaultValue)}`,
          'Make the default match the input type.',
        );
      } else if (choices?.length && !choices.includes((defaultValue as { value: string }).value)) {
        this.values.invalid(
          defaultValue,
          `${label} › default ${JSON.stringify((defaultValue as { value: string }).value)} is not one of the options (${choices.join(', ')})`,
          'Use one of the options as the default.',
        );
      } else definition.default = (defaultValue as { value: unknown }).value;
    }
    return definition as unknown as InputDefinition;
  }
}
