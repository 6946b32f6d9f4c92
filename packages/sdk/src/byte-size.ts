import { BadInputError } from './errors.js';

/**
 * A size as a number of bytes or a string with a binary unit, written as memory limits are:
 * `Ki`, `Mi`, `Gi`, `Ti` (or `k`, `m`, `g`, `t`, `KiB`, `MB`…: every unit is a power of 1024).
 * @example '512Mi', '10Gi', '1.5g', 1_048_576
 */
export type ByteSize = number | string;

const UNIT_BYTES: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
/** The same grammar as `parseMemory` (resources.ts), so that `1G` means one thing in a job's options. */
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b|i)?$/i;

/**
 * Parses a {@link ByteSize} into a whole number of bytes.
 * @example parseByteSize('10Mi') // 10_485_760
 */
export function parseByteSize(value: ByteSize): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new BadInputError(`invalid size: ${value}`);
    return Math.round(value);
  }
  const m = SIZE.exec(value.trim());
  if (!m) throw new BadInputError(`invalid size "${value}": use a number of bytes or forms like 512Mi, 10Gi, 1.5Gi`);
  return Math.round(Number(m[1]) * (UNIT_BYTES[(m[2] ?? '').toLowerCase()] as number));
}
