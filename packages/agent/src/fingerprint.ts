/**
 * Each attempt's environment on record: what an agent reports when an attempt starts, so that
 * two attempts of a job (or two runs) can be told apart by where and with what they ran. See
 * docs/concepts.md, "Each attempt's environment".
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AttemptFingerprint } from '@hiveforge/coordinator';
import type { PreparedImage } from './images/types.js';

/**
 * Fields of an agent's configuration that are left out of its hash: secrets (their values must
 * never leave the agent, and rotating one does not change how jobs run), the agent's name, paths
 * that differ from host to host by design, and where the coordinators are (`hiveforge run`'s
 * loopback port changes every run; it says nothing of how jobs run). Secrets count by name only.
 */
export const CONFIG_HASH_EXCLUDED = ['registrationSecret', 'agentSecret', 'name', 'workDir', 'url', 'urls'] as const;

/** The version of HiveForge this agent is, from its package. */
export const HIVEFORGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Sorted keys, functions dropped, an executor object by its name: one text per configuration. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  const named = value as { name?: unknown; start?: unknown };
  // An executor (or any port) counts by its name: its functions are not configuration.
  if (typeof named.start === 'function' && typeof named.name === 'string') return { name: named.name };
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = canonical((value as Record<string, unknown>)[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/**
 * A stable hash of an agent's effective configuration: every field except those in
 * {@link CONFIG_HASH_EXCLUDED}, with `secrets` reduced to their sorted names, labels sorted,
 * functions (event callbacks) left out and the executor counted by its name. Two agents started
 * from the same configuration on different hosts, with different names and work directories,
 * have the same hash.
 * @example configHash({ labels: ['linux'], capacity: 2, executor }) // 'sha256:3f2a9c1e…' (16 hex digits)
 */
export function configHash(config: Readonly<Record<string, unknown>>): string {
  const counted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if ((CONFIG_HASH_EXCLUDED as readonly string[]).includes(key) || value === undefined) continue;
    if (key === 'secrets' && value && typeof value === 'object') counted[key] = Object.keys(value).sort();
    else if (key === 'labels' && Array.isArray(value)) counted[key] = [...value].map(String).sort();
    else counted[key] = value;
  }
  const text = JSON.stringify(canonical(counted));
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** The fingerprint of an attempt about to start. */
export function attemptFingerprint(options: {
  executor: string;
  image: PreparedImage | null;
  configHash: string;
}): AttemptFingerprint {
  return {
    executor: options.executor,
    imageTag: options.image?.tag ?? null,
    imageId: options.image?.id ?? null,
    configHash: options.configHash,
    hiveforgeVersion: HIVEFORGE_VERSION,
    nodeVersion: process.version,
  };
}
