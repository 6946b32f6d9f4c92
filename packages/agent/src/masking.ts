/**
 * The one masking layer everything that leaves a job goes through: log lines, the job's error
 * and its outputs. A secret is masked in the forms a job is likely to print it in, and in a
 * stream a secret split over two writes is masked too. See docs/concepts.md, "Masking".
 */

/** What a masked value is replaced by. */
export const MASK = '***';

/** Values shorter than this (after trimming) are not masked: they would mask ordinary words. */
export const MIN_SECRET_LENGTH = 3;

/** Encoded forms shorter than this are not masked, for the same reason. */
export const MIN_FORM_LENGTH = 6;

/** Masks secrets in text. One precompiled pattern serves every form of every value. */
export interface Masker {
  /** `text` with every form of every value replaced by {@link MASK}. */
  mask(text: string): string;
  /** A masker for text that arrives in pieces (see {@link MaskStream}). */
  stream(): MaskStream;
  /** The longest form masked, in UTF-16 code units: how much a stream holds back at most. */
  readonly maxFormLength: number;
  /** False when there is nothing to mask: `mask` returns its input and streams hold nothing back. */
  readonly active: boolean;
}

/**
 * Masks text written in pieces: `push` returns what is safe to pass on and holds back the end of
 * the current line when a masked form could start there and end in a later piece (at most
 * {@link Masker.maxFormLength} - 1 code units); `end` returns the rest.
 */
export interface MaskStream {
  push(text: string): string;
  end(): string;
  /** How many code units are held back now. */
  readonly held: number;
}

const B64_STD = /[+/]/g;
const toUrlSafe = (b64: string) => b64.replace(B64_STD, (c) => (c === '+' ? '-' : '_'));

/**
 * The base64 text that a value's bytes give wherever they sit in a longer base64 text: for each
 * of the three alignments, the characters that depend on the value's bits alone.
 */
function base64Inner(bytes: Buffer): string[] {
  const forms: string[] = [];
  for (let pad = 0; pad < 3; pad++) {
    const padded = Buffer.concat([Buffer.alloc(pad), bytes, Buffer.alloc(3)]);
    const text = padded.toString('base64');
    const startBit = pad * 8;
    const endBit = startBit + bytes.length * 8;
    const first = Math.ceil(startBit / 6);
    const last = Math.floor(endBit / 6); // exclusive: characters [first, last) lie inside
    if (last > first) forms.push(text.slice(first, last));
  }
  return forms;
}

const escapeNonAscii = (json: string) =>
  json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The forms one line of a secret is masked in (its raw form included). */
function formsOf(unit: string, out: Set<string>): void {
  const add = (form: string, min: number) => {
    if (form.length >= min && !/[\r\n]/.test(form)) out.add(form);
  };
  add(unit, MIN_SECRET_LENGTH);
  const bytes = Buffer.from(unit, 'utf8');
  // JSON-escaped (as JSON.stringify writes it, and with non-ASCII as \u escapes).
  const json = JSON.stringify(unit).slice(1, -1);
  add(json, MIN_SECRET_LENGTH);
  add(escapeNonAscii(json), MIN_SECRET_LENGTH);
  // URL-encoded: upper- and lower-case escapes, spaces as %20 or +.
  const url = encodeURIComponent(unit);
  for (const u of [url, url.replace(/%20/g, '+')]) {
    add(u, MIN_FORM_LENGTH);
    add(
      u.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
      MIN_FORM_LENGTH,
    );
  }
  // Hex of the UTF-8 bytes.
  const hex = bytes.toString('hex');
  add(hex, MIN_FORM_LENGTH);
  add(hex.toUpperCase(), MIN_FORM_LENGTH);
  // Base64 (standard and URL-safe): the whole encoding, and its inner part at each alignment.
  const whole = bytes.toString('base64');
  for (const b64 of [whole, whole.replace(/=+$/, ''), ...base64Inner(bytes)]) {
    add(b64, MIN_FORM_LENGTH);
    add(toUrlSafe(b64), MIN_FORM_LENGTH);
  }
}

/**
 * Every form a value is masked in: raw, JSON-escaped, URL-encoded, hex (lower and upper case)
 * and base64 (standard and URL-safe, at any alignment inside a longer base64 text); for a
 * multi-line value each of its lines too. None contains a line break.
 */
export function maskedForms(value: string): string[] {
  const forms = new Set<string>();
  if (value.trim().length < MIN_SECRET_LENGTH) return [];
  formsOf(value, forms);
  const lines = value.split(/\r\n|\r|\n/);
  if (lines.length > 1) {
    for (const line of lines) {
      if (line.trim().length < MIN_SECRET_LENGTH) continue;
      formsOf(line, forms);
      if (line.trim() !== line) formsOf(line.trim(), forms);
    }
  }
  return [...forms];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Creates a masker for `values` (empty and short values are ignored). Its pattern is compiled
 * once: the alternatives longest first, so the longest form wins where several start.
 *
 * @example
 * const masker = createMasker(['hunter22']);
 * masker.mask('pw=hunter22'); // 'pw=***'
 */
export function createMasker(values: readonly string[]): Masker {
  const forms = [...new Set(values.flatMap(maskedForms))].sort((a, b) => b.length - a.length);
  const maxFormLength = forms[0]?.length ?? 0;
  const pattern = forms.length ? new RegExp(forms.map(escapeRegExp).join('|'), 'g') : null;
  const mask = (text: string) => (pattern ? text.replace(pattern, MASK) : text);

  const stream = (): MaskStream => {
    let held = '';
    return {
      push(text) {
        if (!pattern) return text;
        const buf = held + text;
        // A form has no line break, so one cannot start before the last one and end after it;
        // nor can one that starts more than `maxFormLength` - 1 units before the end.
        const safe = Math.max(buf.length - (maxFormLength - 1), buf.lastIndexOf('\n') + 1);
        if (safe <= 0) {
          held = buf;
          return '';
        }
        let out = '';
        let pos = 0;
        pattern.lastIndex = 0;
        for (let m = pattern.exec(buf); m !== null && m.index < safe; m = pattern.exec(buf)) {
          out += buf.slice(pos, m.index) + MASK;
          pos = m.index + m[0].length;
        }
        const cut = Math.max(safe, pos);
        out += buf.slice(pos, cut);
        held = buf.slice(cut);
        return out;
      },
      end() {
        const rest = mask(held);
        held = '';
        return rest;
      },
      get held() {
        return held.length;
      },
    };
  };

  return { mask, stream, maxFormLength, active: pattern !== null };
}

/** What a job sends back besides its log: its error and its outputs. */
export interface MaskableResult {
  error: string | null;
  outputs: Record<string, string>;
}

/** `result` with its error and its outputs (keys and values) masked. */
export function maskResult<R extends MaskableResult>(masker: Masker, result: R): R {
  if (!masker.active) return result;
  return {
    ...result,
    error: result.error === null ? null : masker.mask(result.error),
    outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [masker.mask(k), masker.mask(v)])),
  };
}
