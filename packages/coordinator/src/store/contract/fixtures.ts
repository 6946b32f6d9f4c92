import { API_VERSION, type JobSpec, type PipelineSpec } from '@hiveforge/sdk';
import {
  type AgentRecord,
  type JobRecord,
  type LogChunkRecord,
  type RunTrigger,
  type SecretRecord,
  type TokenRecord,
  secretIdOf,
} from '../types.js';

/** A manual trigger with no inputs, for tests. */
export function makeManualTrigger(): RunTrigger {
  return { event: 'manual', branch: null, commit: null, repository: null, inputs: {}, actor: null };
}

/** A pipeline spec of these jobs, with no triggers and nothing else, for tests. */
export function makePipelineSpec(name: string, jobs: JobSpec[] = []): PipelineSpec {
  return {
    apiVersion: API_VERSION,
    name,
    triggers: { push: null, pullRequest: null, schedule: [], manual: null },
    strictImages: false,
    env: {},
    images: [],
    jobs,
    source: null,
  };
}

/** A job spec with defaults, for tests. */
export function makeJobSpec(name: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name,
    job: name,
    matrix: null,
    needs: [],
    image: null,
    labels: [],
    env: {},
    secrets: [],
    timeoutMs: 60_000,
    retries: 0,
    diskBytes: null,
    if: null,
    concurrency: null,
    resources: null,
    user: null,
    source: null,
    ...overrides,
  };
}

/** A job record with defaults, for contract tests. */
export function makeJob(runId: string, name: string, overrides: Partial<JobRecord> = {}): JobRecord {
  const spec = makeJobSpec(name);
  return {
    _id: `${runId}/${name}`,
    runId,
    name,
    spec,
    state: 'queued',
    attempt: 1,
    readyAt: 1,
    agentId: null,
    leaseExpiresAt: null,
    leasedAt: null,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    cause: null,
    error: null,
    outputs: {},
    lostAttempts: 0,
    ...overrides,
  };
}

/** A log chunk of attempt 1 of `jobId` (run `r`), at offset `seq`. */
export function makeLogChunk(jobId: string, seq: number, text: string): LogChunkRecord {
  return { _id: `${jobId}#1#${seq}`, jobId, runId: 'r', attempt: 1, seq, offset: seq, text, at: 0 };
}

/**
 * The contract every Store adapter keeps. Run it against each adapter:
 * `describeStoreContract('memory', () => createMemoryStore())`.

/** A token record with defaults, for contract tests. */
export function makeToken(hash: string, overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    _id: hash,
    id: `tok_${hash}`,
    name: hash,
    role: 'viewer',
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** An agent record with defaults, for contract tests. */
export function makeAgent(id: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    _id: id,
    name: id,
    labels: [],
    state: 'active',
    tokenHash: `hash-${id}`,
    capacity: 1,
    registeredAt: 0,
    lastHeartbeatAt: 0,
    disk: null,
    ...overrides,
  };
}

/** A secret record with defaults (its "encrypted" fields are placeholders), for contract tests. */
export function makeSecret(name: string, pipeline: string | null, overrides: Partial<SecretRecord> = {}): SecretRecord {
  return {
    _id: secretIdOf(name, pipeline),
    name,
    pipeline,
    iv: `iv-${name}-${pipeline ?? ''}`,
    ciphertext: `ct-${name}-${pipeline ?? ''}`,
    tag: `tag-${name}-${pipeline ?? ''}`,
    updatedAt: 0,
    ...overrides,
  };
}
