import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  DEFAULT_LOCAL_CACHE_BYTES,
  type ExecutorName,
  executorNames,
  isExecutorName,
  resolveImageBuilderConfig,
} from '@hiveforge/agent';
import { DEFAULT_CACHE_LIMIT_BYTES, parseSecretsKey } from '@hiveforge/coordinator';
import { ConfigError, formatIssues, parseByteSize, parseDuration } from '@hiveforge/sdk';
import { z } from 'zod';

const DurationText = z.union([z.number().nonnegative(), z.string().min(1)]).transform((v, ctx) => {
  try {
    return parseDuration(v as string);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/**
 * Parses a size in bytes for a flag: a whole number of bytes, or a number with a binary unit
 * (the SDK's `parseByteSize`: `64Mi`, `64MiB`, `512k`, `1G`, every unit a power of 1024).
 * @example parseSize('--log-limit', '64MiB') // 67108864
 */
export function parseSize(name: string, value: string | number): number {
  let bytes: number;
  try {
    bytes = parseByteSize(value);
  } catch {
    bytes = Number.NaN;
  }
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new ConfigError(`${name}: "${value}" is not a size (use 1048576, 512KiB, 64Mi, 1GiB)`);
  return bytes;
}

const SizeText = z.union([z.number().int().positive(), z.string().min(1)]);

const CoordinatorFileSchema = z
  .object({
    host: z.string(),
    port: z.number().int().min(0).max(65_535),
    store: z.enum(['memory', 'mongodb']),
    mongodbUri: z.string(),
    mongodbDatabase: z.string(),
    artifactsDir: z.string().min(1),
    agentSecret: z.string().min(16),
    adminToken: z.string().min(16),
    heartbeatInterval: DurationText,
    leaseTtl: DurationText,
    sweepInterval: DurationText,
    pullWait: DurationText,
    scheduleInterval: DurationText,
    eventRetention: DurationText,
    agentCacheTtl: DurationText,
    agentGoneAfter: DurationText,
    blobGrace: DurationText,
    logLimit: SizeText,
    cacheSizeLimit: SizeText,
    defaultBranch: z.string().min(1),
    storeOutageLimit: DurationText,
  })
  .partial()
  .strict();

const AgentFileSchema = z
  .object({
    url: z.union([z.string(), z.array(z.string()).min(1)]),
    agentSecret: z.string().min(1),
    name: z.string().min(1),
    labels: z.array(z.string()),
    capacity: z.number().int().min(1).max(256),
    workDir: z.string(),
    once: z.boolean(),
    passEnv: z.array(z.string()),
    secrets: z.array(z.string()),
    executor: z.string().min(1),
    defaultImage: z.string().min(1),
    registry: z.string().min(1),
    push: z.boolean(),
    logLimit: SizeText,
    onLogLimit: z.enum(['truncate', 'fail']),
    callTimeout: DurationText,
    retryFor: DurationText,
    localCacheSize: SizeText,
    storeOutageLimit: DurationText,
  })
  .partial()
  .strict();

/** The coordinator's effective configuration. Durations are milliseconds. */
export interface ResolvedCoordinatorConfig {
  host: string;
  port: number;
  store: 'memory' | 'mongodb';
  mongodbUri: string | null;
  mongodbDatabase: string;
  /**
   * Where the memory store keeps artifact bytes; null for a temporary directory of its own,
   * removed when the coordinator stops. The MongoDB store keeps them in GridFS.
   */
  artifactsDir: string | null;
  agentSecret: string;
  adminToken: string | null;
  /** The 32-byte key that encrypts secrets (`--secrets-key`, its file, or `HIVEFORGE_SECRETS_KEY`); null: none. */
  secretsKey: Uint8Array | null;
  /** A previous secrets key that only decrypts (`--secrets-key-previous`); null: none. */
  secretsKeyPrevious: Uint8Array | null;
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  sweepIntervalMs: number;
  pullWaitMs: number;
  scheduleIntervalMs: number;
  eventRetentionMs: number;
  agentCacheTtlMs: number;
  /** An agent not heard from for this long is marked gone (its token then refused). */
  agentGoneAfterMs: number;
  /** A blob no record names is collected once last stored this long ago (see docs/operations.md). */
  blobGraceMs: number;
  /** The most log bytes a job attempt may store; chunks past it are refused. */
  logLimitBytes: number;
  /** The most bytes of cache entries one pipeline keeps; past it the least recently used go. */
  cacheLimitBytes: number;
  /** The branch whose cache entries every branch of a pipeline may restore. */
  defaultBranch: string;
  /** The longest store outage during which no lease is declared lost (see docs/operations.md). */
  storeOutageLimitMs: number;
}

/** The agent's effective configuration. */
export interface ResolvedAgentConfig {
  urls: string[];
  agentSecret: string;
  name: string;
  labels: string[];
  capacity: number;
  workDir: string;
  once: boolean;
  /** Names of the agent's environment variables that jobs get; nothing else of it reaches a job. */
  passEnv: string[];
  /**
   * Names of the agent's own secrets, each read from the variable of that name in its
   * environment (never from a flag: a value there would show in the process list). A job gets
   * those it declares, when the store has none of that name. @default []
   */
  secretNames: string[];
  /** The executor jobs run through, by its registered name. @default 'process' */
  executor: ExecutorName;
  /** The image of jobs that declare none, for executors that run images. @default null */
  defaultImage: string | null;
  /**
   * A registry (`host:port`) images' bases are pulled from when the engine lacks them, and built
   * images are pushed to with `push`, for executors that build images. @default null
   */
  registry: string | null;
  /** Push each image the agent builds to `registry` (`REGISTRY/hiveforge/<name>:<hash>`). @default false */
  push: boolean;
  /** The most log bytes a job may print before its log is cut (or the job fails). */
  logLimitBytes: number;
  /** What a job past its log limit does: its log ends with a truncation line, or it fails. */
  onLogLimit: 'truncate' | 'fail';
  /** How long a call to a coordinator may take (a pull: its wait on top). */
  callTimeoutMs: number;
  /**
   * How long a job's calls are tried again while the coordinator or its store cannot answer: the
   * store outage limit (`--store-outage-limit`, or its older name `--retry-for`).
   */
  retryForMs: number;
  /** The most bytes of cache entries the agent keeps in `<workDir>/caches`; 0 keeps none. */
  localCacheBytes: number;
}

function readConfigFile<T extends z.ZodType>(schema: T, path: string | undefined): z.infer<T> {
  if (!path) return {} as z.infer<T>;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `${path}: ${formatIssues(parsed.error)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')}`,
    );
  }
  return parsed.data;
}

const pick = <T>(...values: (T | undefined | null | '')[]): T | undefined =>
  values.find((v) => v !== undefined && v !== null && v !== '') as T | undefined;

function duration(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value as string);
  } catch {
    throw new ConfigError(`${name}: "${value}" is not a duration (use 500ms, 2s, 1m)`);
  }
}

/**
 * The coordinator's secrets keys: `--secrets-key BASE64`, `--secrets-key-file PATH` (a file
 * holding the base64 key) or `HIVEFORGE_SECRETS_KEY`, the first given in that order; and
 * `--secrets-key-previous BASE64` (or `HIVEFORGE_SECRETS_KEY_PREVIOUS`), which only decrypts.
 */
function resolveSecretsKeys(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv,
): { secretsKey: Uint8Array | null; secretsKeyPrevious: Uint8Array | null } {
  if (flags.secretsKey && flags.secretsKeyFile)
    throw new ConfigError('give the secrets key once: --secrets-key or --secrets-key-file, not both');
  let secretsKey: Uint8Array | null = null;
  if (flags.secretsKey) secretsKey = parseSecretsKey(flags.secretsKey, '--secrets-key');
  else if (flags.secretsKeyFile) {
    let text: string;
    try {
      text = readFileSync(flags.secretsKeyFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`--secrets-key-file ${flags.secretsKeyFile}: ${(error as Error).message}`);
    }
    secretsKey = parseSecretsKey(text, `--secrets-key-file ${flags.secretsKeyFile}`);
  } else if (env.HIVEFORGE_SECRETS_KEY)
    secretsKey = parseSecretsKey(env.HIVEFORGE_SECRETS_KEY, 'HIVEFORGE_SECRETS_KEY');
  const previous = pick(flags.secretsKeyPrevious, env.HIVEFORGE_SECRETS_KEY_PREVIOUS);
  const secretsKeyPrevious = previous ? parseSecretsKey(previous, '--secrets-key-previous') : null;
  if (secretsKeyPrevious && !secretsKey)
    throw new ConfigError('--secrets-key-previous only decrypts: give the current key too (--secrets-key)');
  return { secretsKey, secretsKeyPrevious };
}

/**
 * Resolves the coordinator's configuration: defaults, then the config file, then the
 * environment (`HIVEFORGE_*`), then flags.
 */
export function resolveCoordinatorConfig(
  flags: Record<string, string | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedCoordinatorConfig {
  const file = readConfigFile(CoordinatorFileSchema, pick(flags.config, env.HIVEFORGE_CONFIG));
  const store = pick(flags.store, env.HIVEFORGE_STORE, file.store) ?? 'memory';
  if (store !== 'memory' && store !== 'mongodb')
    throw new ConfigError(`--store must be memory or mongodb, not ${store}`);
  const mongodbUri = pick(flags.mongodbUri, env.HIVEFORGE_MONGODB_URI, file.mongodbUri) ?? null;
  if (store === 'mongodb' && !mongodbUri)
    throw new ConfigError('--store mongodb needs --mongodb-uri (or HIVEFORGE_MONGODB_URI)');
  const artifactsDir = pick(flags.artifactsDir, env.HIVEFORGE_ARTIFACTS_DIR, file.artifactsDir) ?? null;
  if (store !== 'memory' && artifactsDir !== null)
    throw new ConfigError('--artifacts-dir is for the memory store; the MongoDB store keeps artifacts in GridFS');
  const agentSecret = pick(flags.agentSecret, env.HIVEFORGE_AGENT_SECRET, file.agentSecret);
  if (!agentSecret || agentSecret.length < 16)
    throw new ConfigError(
      'an agent secret of at least 16 characters is needed: --agent-secret or HIVEFORGE_AGENT_SECRET',
    );
  const adminToken = pick(flags.adminToken, env.HIVEFORGE_ADMIN_TOKEN, file.adminToken) ?? null;
  if (adminToken !== null && adminToken.length < 16)
    throw new ConfigError('the admin token must have at least 16 characters');
  const { secretsKey, secretsKeyPrevious } = resolveSecretsKeys(flags, env);
  const port = Number(pick(flags.port, env.HIVEFORGE_PORT, file.port?.toString()) ?? 7700);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new ConfigError(`--port must be 0-65535, not ${port}`);
  return {
    host: pick(flags.host, env.HIVEFORGE_HOST, file.host) ?? '127.0.0.1',
    port,
    store,
    mongodbUri,
    mongodbDatabase: pick(flags.mongodbDatabase, env.HIVEFORGE_MONGODB_DATABASE, file.mongodbDatabase) ?? 'hiveforge',
    artifactsDir,
    agentSecret,
    adminToken,
    secretsKey,
    secretsKeyPrevious,
    heartbeatIntervalMs: duration(
      '--heartbeat-interval',
      pick(flags.heartbeatInterval, env.HIVEFORGE_HEARTBEAT_INTERVAL),
      file.heartbeatInterval ?? 2_000,
    ),
    leaseTtlMs: duration('--lease-ttl', pick(flags.leaseTtl, env.HIVEFORGE_LEASE_TTL), file.leaseTtl ?? 6_000),
    sweepIntervalMs: duration(
      '--sweep-interval',
      pick(flags.sweepInterval, env.HIVEFORGE_SWEEP_INTERVAL),
      file.sweepInterval ?? 1_000,
    ),
    pullWaitMs: duration('--pull-wait', pick(flags.pullWait, env.HIVEFORGE_PULL_WAIT), file.pullWait ?? 20_000),
    scheduleIntervalMs: duration(
      '--schedule-interval',
      pick(flags.scheduleInterval, env.HIVEFORGE_SCHEDULE_INTERVAL),
      file.scheduleInterval ?? 5_000,
    ),
    eventRetentionMs: duration(
      '--event-retention',
      pick(flags.eventRetention, env.HIVEFORGE_EVENT_RETENTION),
      file.eventRetention ?? 7 * 86_400_000,
    ),
    agentCacheTtlMs: duration(
      '--agent-cache-ttl',
      pick(flags.agentCacheTtl, env.HIVEFORGE_AGENT_CACHE_TTL),
      file.agentCacheTtl ?? 1_000,
    ),
    agentGoneAfterMs: duration(
      '--agent-gone-after',
      pick(flags.agentGoneAfter, env.HIVEFORGE_AGENT_GONE_AFTER),
      file.agentGoneAfter ?? 300_000,
    ),
    blobGraceMs: duration(
      '--blob-grace',
      pick(flags.blobGrace, env.HIVEFORGE_BLOB_GRACE),
      file.blobGrace ?? 15 * 60_000,
    ),
    logLimitBytes: parseSize(
      '--log-limit',
      pick(flags.logLimit, env.HIVEFORGE_LOG_LIMIT, file.logLimit?.toString()) ?? DEFAULT_LOG_LIMIT,
    ),
    cacheLimitBytes: parseSize(
      '--cache-size-limit',
      pick(flags.cacheSizeLimit, env.HIVEFORGE_CACHE_SIZE_LIMIT, file.cacheSizeLimit?.toString()) ??
        DEFAULT_CACHE_LIMIT_BYTES,
    ),
    defaultBranch: pick(flags.defaultBranch, env.HIVEFORGE_DEFAULT_BRANCH, file.defaultBranch) ?? 'main',
    storeOutageLimitMs: duration(
      '--store-outage-limit',
      pick(flags.storeOutageLimit, env.HIVEFORGE_STORE_OUTAGE_LIMIT),
      file.storeOutageLimit ?? DEFAULT_STORE_OUTAGE_LIMIT_MS,
    ),
  };
}

/** The longest store outage that fails no job and loses no lease, by default: 2 minutes. */
export const DEFAULT_STORE_OUTAGE_LIMIT_MS = 120_000;

/** The default log limit of a job, on agents and coordinators: 64 MiB. */
export const DEFAULT_LOG_LIMIT = 64 * 1_048_576;

/** `--on-log-limit`: `truncate` (the default) or `fail`. */
export function parseOnLogLimit(value: string): 'truncate' | 'fail' {
  if (value !== 'truncate' && value !== 'fail')
    throw new ConfigError(`--on-log-limit must be truncate or fail, not ${value}`);
  return value;
}

/**
 * The names of `--pass-env` (repeatable, or comma-separated in `HIVEFORGE_PASS_ENV`): variables
 * of the agent's environment that jobs get. Each must be a valid variable name.
 */
export function parsePassEnv(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of names.flatMap((n) => n.split(',')).map((n) => n.trim())) {
    if (!name) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ConfigError(`--pass-env ${name}: a variable name is letters, digits and _, not starting with a digit`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * The names of an agent's own secrets (`--secret NAME`, repeatable, or comma-separated in
 * `HIVEFORGE_SECRETS`): each a variable name set in `env`, where its value is read.
 */
export function parseSecretNames(names: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const name of names.flatMap((n) => n.split(',')).map((n) => n.trim())) {
    if (!name) continue;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new ConfigError(
        `--secret ${name}: give a secret's name (its value is read from the variable of that name), not a value`,
      );
    if (env[name] === undefined)
      throw new ConfigError(`--secret ${name}: ${name} is not set in the agent's environment, where its value is read`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** An agent's own secrets: each name's value from its environment (see {@link parseSecretNames}). */
export const secretValues = (names: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(names.map((name) => [name, env[name] ?? '']));

/** A yes/no environment variable: `1`/`true` or `0`/`false`; unset or empty is undefined. */
function envFlag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === '1' || value === 'true') return true;
  if (value === '0' || value === 'false') return false;
  throw new ConfigError(`${name} must be 1, true, 0 or false, not ${JSON.stringify(value)}`);
}

/** `--registry` and `--push`: a registry is host or host:port; pushing needs one. */
function imageRegistry(registry: string | null, push: boolean): { registry: string | null; push: boolean } {
  if (push && registry === null)
    throw new ConfigError('--push needs --registry (or HIVEFORGE_REGISTRY): the registry images are pushed to');
  try {
    return resolveImageBuilderConfig({ ...(registry === null ? {} : { registry }), push });
  } catch (error) {
    throw new ConfigError(`--registry: ${(error as Error).message}`);
  }
}

/** Resolves the agent's configuration: defaults, config file, environment, flags. */
export function resolveAgentConfig(
  flags: Record<string, string | string[] | boolean | undefined>,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedAgentConfig {
  const file = readConfigFile(AgentFileSchema, pick(flags.config as string | undefined, env.HIVEFORGE_CONFIG));
  const urlText = pick(flags.url as string | undefined, env.HIVEFORGE_URL);
  const urls = urlText
    ? urlText
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean)
    : typeof file.url === 'string'
      ? [file.url]
      : (file.url ?? []);
  if (urls.length === 0)
    throw new ConfigError('the agent needs a coordinator: --url (comma-separated for several) or HIVEFORGE_URL');
  for (const url of urls) {
    if (!/^https?:\/\//.test(url)) throw new ConfigError(`"${url}" is not an http(s) URL`);
  }
  const agentSecret = pick(flags.agentSecret as string | undefined, env.HIVEFORGE_AGENT_SECRET, file.agentSecret);
  if (!agentSecret)
    throw new ConfigError('the agent needs the registration secret: --agent-secret or HIVEFORGE_AGENT_SECRET');
  const labelsText = pick(flags.labels as string | undefined, env.HIVEFORGE_LABELS);
  const capacity = Number(pick(flags.capacity as string | undefined, env.HIVEFORGE_CAPACITY) ?? file.capacity ?? 1);
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 256)
    throw new ConfigError('--capacity must be a whole number from 1 to 256');
  const executor = pick(flags.executor as string | undefined, env.HIVEFORGE_EXECUTOR, file.executor) ?? 'process';
  if (!isExecutorName(executor))
    throw new ConfigError(`--executor must be one of ${executorNames.join(', ')}, not ${executor}`);
  return {
    urls,
    agentSecret,
    name: pick(flags.name as string | undefined, env.HIVEFORGE_AGENT_NAME, file.name) ?? hostname(),
    labels: labelsText
      ? labelsText
          .split(',')
          .map((l) => l.trim())
          .filter(Boolean)
      : (file.labels ?? []),
    capacity,
    workDir: pick(flags.workDir as string | undefined, env.HIVEFORGE_WORK_DIR, file.workDir) ?? '/tmp/hiveforge-agent',
    once: Boolean(
      pick(flags.once as boolean | undefined, env.HIVEFORGE_ONCE === '1' ? true : undefined, file.once) ?? false,
    ),
    logLimitBytes: parseSize(
      '--log-limit',
      pick(flags.logLimit as string | undefined, env.HIVEFORGE_LOG_LIMIT, file.logLimit?.toString()) ??
        DEFAULT_LOG_LIMIT,
    ),
    onLogLimit: parseOnLogLimit(
      pick(flags.onLogLimit as string | undefined, env.HIVEFORGE_ON_LOG_LIMIT, file.onLogLimit) ?? 'truncate',
    ),
    passEnv: parsePassEnv(
      (flags.passEnv as string[] | undefined) ??
        (env.HIVEFORGE_PASS_ENV ? [env.HIVEFORGE_PASS_ENV] : file.passEnv) ??
        [],
    ),
    secretNames: parseSecretNames(
      (flags.secret as string[] | undefined) ?? (env.HIVEFORGE_SECRETS ? [env.HIVEFORGE_SECRETS] : file.secrets) ?? [],
      env,
    ),
    executor,
    defaultImage:
      pick(flags.defaultImage as string | undefined, env.HIVEFORGE_DEFAULT_IMAGE, file.defaultImage) ?? null,
    ...imageRegistry(
      pick(flags.registry as string | undefined, env.HIVEFORGE_REGISTRY, file.registry) ?? null,
      pick(flags.push as boolean | undefined, envFlag('HIVEFORGE_PUSH_IMAGES', env.HIVEFORGE_PUSH_IMAGES), file.push) ??
        false,
    ),
    callTimeoutMs: duration(
      '--call-timeout',
      pick(flags.callTimeout as string | undefined, env.HIVEFORGE_CALL_TIMEOUT),
      file.callTimeout ?? 30_000,
    ),
    retryForMs: duration(
      flags.storeOutageLimit !== undefined ? '--store-outage-limit' : '--retry-for',
      pick(
        (flags.storeOutageLimit ?? flags.retryFor) as string | undefined,
        env.HIVEFORGE_STORE_OUTAGE_LIMIT ?? env.HIVEFORGE_RETRY_FOR,
      ),
      file.storeOutageLimit ?? file.retryFor ?? DEFAULT_STORE_OUTAGE_LIMIT_MS,
    ),
    localCacheBytes: localCacheSize(
      pick(flags.localCacheSize as string | undefined, env.HIVEFORGE_LOCAL_CACHE_SIZE, file.localCacheSize?.toString()),
    ),
  };
}

/** `--local-cache-size`: a size, or 0 for no local cache. @default DEFAULT_LOCAL_CACHE_BYTES (2 GiB) */
function localCacheSize(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOCAL_CACHE_BYTES;
  return value.trim() === '0' ? 0 : parseSize('--local-cache-size', value);
}

/** The configuration as printed at start: secrets are shown as `***`. */
export function redact<T extends object>(config: T): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [
      k,
      // Names of secrets are shown; their values are never in the configuration.
      /secret|token/i.test(k) && v && k !== 'secretNames'
        ? '***'
        : k === 'mongodbUri' && typeof v === 'string'
          ? v.replace(/\/\/[^@/]*@/, '//***@')
          : v,
    ]),
  );
}
