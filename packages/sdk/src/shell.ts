/** Characters that need no quoting in a POSIX shell word. */
const SAFE = /^[A-Za-z0-9_/.,:=+@%^-]+$/;

/**
 * Quotes one value as a single POSIX shell word.
 * @example quote("it's") // 'it'\''s'
 */
export function quote(value: unknown): string {
  const text = String(value);
  if (text !== '' && SAFE.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A value that is pasted into a command unquoted. Use only for trusted, fixed text. */
export interface RawShell {
  readonly __hiveforgeRaw: string;
}

/** Marks text to be pasted into a `ctx.sh` template without quoting. */
export function raw(text: string): RawShell {
  return { __hiveforgeRaw: text };
}

function isRaw(value: unknown): value is RawShell {
  return typeof value === 'object' && value !== null && '__hiveforgeRaw' in value;
}

/**
 * Renders a tagged template into one command line: every interpolation becomes one quoted word,
 * an array becomes one quoted word per element, and `raw()` text is pasted as is.
 * @example renderCommand`ls ${'my dir'} ${['a', 'b c']}` // "ls 'my dir' a 'b c'"
 */
export function renderCommand(strings: TemplateStringsArray, ...values: readonly unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    if (isRaw(value)) out += value.__hiveforgeRaw;
    else if (Array.isArray(value)) out += value.map(quote).join(' ');
    else out += quote(value);
    out += strings[i + 1] ?? '';
  });
  return out;
}
