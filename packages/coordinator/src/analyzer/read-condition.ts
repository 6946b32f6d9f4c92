import { type JobCondition, TriggerEvent } from '@hiveforge/sdk';
import { OptionKeys } from './option-keys.js';
import type { StaticValue } from './static-value.js';
import type { ValueReader } from './value-reader.js';

const EVENTS: readonly string[] = Object.values(TriggerEvent);

/** Reads a job's `if: { branch, event }`. */
export function readCondition(value: StaticValue, label: string, reader: ValueReader): JobCondition | undefined {
  const o = reader.object(value, label, OptionKeys.condition);
  if (!o) return undefined;
  const condition: { branch?: string[]; event?: TriggerEvent[] } = {};
  const branch = o.get('branch');
  if (branch) condition.branch = reader.stringList(branch, `${label} › branch`, true);
  const event = o.get('event');
  if (event) {
    const items = event.kind === 'array' ? event.items : [event];
    const events: TriggerEvent[] = [];
    for (const item of items) {
      const e = reader.oneOf(item, `${label} › event`, EVENTS);
      if (e) events.push(e as TriggerEvent);
    }
    condition.event = events;
  }
  return condition;
}
