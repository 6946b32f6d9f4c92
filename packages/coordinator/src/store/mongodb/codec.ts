/**
 * How records become documents and back. Every key a user chose is escaped, jobs keep their spec
 * as one JSON string, and fields the adapter keeps for itself are stripped from what it returns.
 */
import type { Document } from 'mongodb';
import type { JobRecord } from '../types.js';

/** A stored document: an `_id` and the record's fields, encoded. */
export interface StoredDoc {
  _id: string;
  [key: string]: unknown;
}

/** Fields the adapter adds to documents for its own use and strips from what it returns. */
export const HIDDEN = {
  jobs: ['_n', '_spec', '_labels'],
  artifacts: ['_file'],
  logChunks: ['_encoding', '_data'],
} as const;

// MongoDB (before 5.0) and FerretDB reject field names that contain '.' or start with '$', and
// BSON cannot hold NUL in a name. Records carry user-chosen keys (job outputs, env, inputs,
// decision data), so every key is escaped on the way in and unescaped on the way out. The
// schema's own top-level field names never need escaping, so queries on them are unaffected.
const UNSAFE_KEY = /[.%\0]|^\$/;
const ESCAPED_KEY = /%(25|2E|00|24)/g;

function escapeKey(key: string): string {
  if (!UNSAFE_KEY.test(key)) return key;
  return key.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/\0/g, '%00').replace(/^\$/, '%24');
}

function unescapeKey(key: string): string {
  return key.includes('%')
    ? key.replace(ESCAPED_KEY, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
    : key;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** A copy of `value` safe to store: keys escaped, `undefined` properties dropped (as in JSON). */
export function encodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : encodeValue(item)));
  if (!isPlainObject(value)) return value;
  // Object.fromEntries defines own properties, so a '__proto__' key stays a key.
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [escapeKey(k), encodeValue(v)]),
  );
}

function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [unescapeKey(k), decodeValue(v)]));
}

/** A record as a document safe to store (see `encodeValue`). */
export const encode = (value: object): Document => encodeValue(value) as Document;

/** A stored document as the record the memory adapter would return: hidden fields removed. */
export function decode<T>(doc: Document, hidden: readonly string[] = []): T {
  const out = decodeValue(doc) as Record<string, unknown>;
  for (const key of hidden) delete out[key];
  return out as T;
}

/**
 * A job as stored. Its spec, which never changes and is never queried, is kept as one JSON
 * string (`_spec`) rather than as a nested document: FerretDB parses every stored document
 * each time it looks one up, and a string costs it far less to parse than the same data as
 * fields (it halves the cost of every job read and update there).
 */
export function encodeJob(job: JobRecord): StoredDoc {
  const { spec, ...rest } = job;
  return { ...encode(rest), _id: job._id, _spec: JSON.stringify(spec) };
}

/** A stored job as its record; documents written before `_spec` have a nested `spec`. */
export function decodeJob(doc: Document): JobRecord {
  const job = decode<JobRecord>(doc, HIDDEN.jobs);
  if (typeof doc._spec === 'string') job.spec = JSON.parse(doc._spec);
  return job;
}

/** A `$set` for a patch: `_id` never changes, and an empty patch sets nothing. */
export function setOf(patch: object): Document | null {
  const fields = encode(patch);
  delete fields._id;
  return Object.keys(fields).length > 0 ? fields : null;
}

/** The properties of a patch that are set, as `$set` (through `encode`) sees them. */
export const definedOf = (patch: object) =>
  Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
