/**
 * Frozen records for the memory store: what comes in is copied once and frozen, what goes out is
 * shared, so nothing a caller holds can change what is stored.
 */

/** Deeply freezes a value, so a record handed out can be shared instead of copied. */
export function freeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freeze(v);
  }
  return value;
}

/** Whether a value is plain data (primitives, plain objects, arrays) frozen all the way down. */
function deeplyFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (!Object.isFrozen(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && !Array.isArray(value)) return false;
  for (const key in value) if (!deeplyFrozen((value as Record<string, unknown>)[key])) return false;
  return true;
}

/**
 * A frozen deep copy of plain data (objects, arrays, primitives); anything else (a Buffer, a
 * Date) is copied by `structuredClone`. Records are plain data: walking them is several times
 * cheaper than `structuredClone`, which serializes. Plain data frozen all the way down cannot
 * change, so it is shared instead of copied (a run's jobs share the spec of their version, read
 * from this store). Checking that walks it without allocating; remembering what this function
 * made in a WeakSet instead cost more than the copies.
 */
function frozenCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (deeplyFrozen(value)) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy)) as T;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return freeze(structuredClone(value));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = frozenCopy((value as Record<string, unknown>)[key]);
  return Object.freeze(copy) as T;
}

/** What comes in is copied once and frozen: nothing a caller holds can change what is stored. */
export const own = <T>(value: T): T => frozenCopy(value);
/**
 * A stored record with a patch applied: the record is frozen already, so only the patch is
 * copied, and the fields it leaves alone are shared with the record before.
 */
export const patched = <T extends object>(record: T, patch: object): T => Object.freeze({ ...record, ...own(patch) });
/** What goes out is the frozen stored value itself: reads cost no copy. */
export const share = <T>(value: T): T => value;
