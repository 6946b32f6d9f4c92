import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createAgentClient } from '@hiveforge/agent';
import {
  type Coordinator,
  type Store,
  createCoordinator,
  createMemoryStore,
  createUserToken,
} from '@hiveforge/coordinator';
import { createHiveForgeClient } from '@hiveforge/coordinator/client';
import fc from 'fast-check';
import { packagePipeline } from 'hiveforge';
import { expect } from 'vitest';
import { repoRoot } from './cli.js';

/**
 * Fuzzing the API's inputs against a real coordinator (HTTP on loopback, memory store): every bad
 * input must be refused with a 4xx and an `HF_*` code, never a 500, and must leave the store as it
 * was. Each source of input has its own property below (triggers, run reads, deploys, the agent
 * protocol, tokens, raw HTTP); webhook payloads get theirs when webhooks exist. The seed is fixed,
 * so a failure replays; `HF_FUZZ_SEED` and `HF_FUZZ_RUNS` (a factor) explore further.
 */
export const SEED = Number(process.env.HF_FUZZ_SEED ?? 20261202);
export const SCALE = Number(process.env.HF_FUZZ_RUNS ?? 1);
export const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
export const SECRET = 'a-registration-secret-for-fuzzing';

/** What a refused call answered. */
export interface Refusal {
  status: number;
  code: unknown;
  message: unknown;
}

/** Everything the store's read side shows, to prove that a refused call changed nothing. */
export async function snapshot(store: Store): Promise<string> {
  const pipelines = await store.listPipelines();
  const runsList = await store.listRuns({ limit: 1000 });
  const jobs = (await Promise.all(runsList.map((r) => store.listJobs(r._id)))).flat();
  const decisions = await Promise.all(
    [
      ...jobs.flatMap((j) => [
        `job:${j._id}/attempt:1/lease`,
        `job:${j._id}/attempt:1/end`,
        `job:${j._id}/attempt:2/lease`,
        `job:${j._id}/resolve`,
      ]),
      ...runsList.flatMap((r) => [`run:${r._id}/cancel`, `run:${r._id}/end`]),
      ...[1, 2, 3, 4].map((n) => `pipeline:inputs/run:${n}`),
    ].map((id) => store.getDecision(id)),
  );
  return JSON.stringify({
    pipelines,
    versions: await Promise.all(pipelines.map((p) => store.listPipelineVersions(p._id, { limit: 100 }))),
    runs: runsList,
    jobs,
    logs: await Promise.all(jobs.map((j) => store.readLogChunks(j._id))),
    artifacts: await Promise.all(runsList.map((r) => store.listArtifacts(r._id))),
    agents: await store.listAgents(),
    // A token's last use is written at most once a minute by any call: not part of what a call changes.
    tokens: (await store.listTokens()).map(({ lastUsedAt: _, ...token }) => token),
    schedules: await store.listSchedules(),
    events: await store.listEvents({ limit: 1000 }),
    queued: await store.countQueuedJobs(),
    decisions,
  });
}

// ---- arbitraries ----------------------------------------------------------------------------

/** Any JSON value, including deep and odd ones. */
export const anyJson = fc.jsonValue({ maxDepth: 3 });
/** Text of every kind: unicode, control characters, lone surrogates. */
export const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u0000', '..', '../../etc/passwd', '/abs', '$where', 'a.b', '\ud800', '🚀'.repeat(50)),
);
/** A long string: from a little over a limit to several times it. */
export const longText = (over: number) => fc.integer({ min: over + 1, max: over * 4 }).map((n) => 'x'.repeat(n));
/** Numbers a schema should refuse where it wants a positive integer. */
export const badCount = fc.oneof(
  fc.integer({ max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.constantFrom(-1, 0, 0.5, -0.0001, 1e308, -1e308),
);
/** Not a number at all. */
export const notNumber = fc.oneof(anyText, fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 }));
/** Not a string at all. */
export const notString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.dictionary(fc.string(), fc.integer()),
);
/** Not an object: what a caller that sends the wrong shape entirely sends. */
export const notObject = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.array(anyJson, { maxLength: 3 }));

/** A field of an object input: values the schema accepts and values it refuses. */
export interface Field {
  ok: fc.Arbitrary<unknown>;
  bad: fc.Arbitrary<unknown>;
  /** May be left out. */
  optional?: boolean;
}

/**
 * Objects with at least one refused field and every other field valid or left out (where it
 * may be), so that each case is bad for a known reason; or something that is no object at all.
 */
export function badInput(fields: Record<string, Field>): fc.Arbitrary<unknown> {
  const names = Object.keys(fields);
  const object = fc
    .tuple(
      fc.subarray(names, { minLength: 1 }),
      fc.record(Object.fromEntries(names.map((n) => [n, (fields[n] as Field).ok]))),
      fc.record(Object.fromEntries(names.map((n) => [n, (fields[n] as Field).bad]))),
      fc.subarray(names),
    )
    .map(([badOnes, ok, bad, omitted]) => {
      const input: Record<string, unknown> = {};
      for (const name of names) {
        if (badOnes.includes(name)) input[name] = bad[name];
        else if (!(fields[name]?.optional && omitted.includes(name))) input[name] = ok[name];
      }
      return input;
    });
  return fc.oneof({ arbitrary: object, weight: 5 }, { arbitrary: notObject, weight: 1 });
}

// ---- the suite ------------------------------------------------------------------------------

/** The tokens of a fuzz target: one per role, and two agents'. */
export interface FuzzTokens {
  admin: string;
  maintainer: string;
  viewer: string;
  agent: string;
  otherAgent: string;
}

/** A coordinator to fuzz, with a deployed pipeline, a run and a lease its first agent holds. */
export interface FuzzTarget extends AsyncDisposable {
  readonly store: Store;
  readonly coordinator: Coordinator;
  readonly tokens: FuzzTokens;
  readonly runId: string;
  readonly leased: { jobId: string; attempt: number };
  /** Asserts that a call was refused with a typed 4xx and left the store as it was. */
  refused(path: string, input: unknown, options: { token?: string; kind?: 'query' | 'mutation' }): Promise<void>;
  /** Checks a property with the fixed seed. */
  property<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, numRuns: number): Promise<void>;
  /** Counts one case checked outside {@link refused}. */
  count(): void;
  close(): Promise<void>;
}

/** Starts a real coordinator (HTTP on loopback, memory store) set up for fuzzing. */
export async function startFuzzTarget(): Promise<FuzzTarget> {
  const store = createMemoryStore();
  // Leases outlive the suite: the lease the fuzzing agent holds must not be swept as lost.
  const coordinator = await createCoordinator({
    store,
    agentSecret: SECRET,
    scheduler: { pullWait: '200ms', leaseTtl: '1h' },
  });
  const tokens: FuzzTokens = {
    admin: await createUserToken(store, { name: 'root', role: 'admin' }),
    maintainer: await createUserToken(store, { name: 'mia', role: 'maintainer' }),
    viewer: await createUserToken(store, { name: 'vic', role: 'viewer' }),
    agent: '',
    otherAgent: '',
  };
  const maintainer = createHiveForgeClient({ url: coordinator.url, token: tokens.maintainer });
  const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/inputs/hiveforge.ts'));
  await maintainer.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
  const register = (name: string) =>
    createAgentClient({ url: coordinator.url, token: () => undefined }).agent.register.mutate({
      secret: SECRET,
      name,
      labels: [],
      capacity: 1,
    });
  tokens.agent = (await register('fuzz-a')).token;
  tokens.otherAgent = (await register('fuzz-b')).token;
  const runId = (await maintainer.runs.trigger.mutate({ pipeline: 'inputs', inputs: { note: 'seed' } }))._id;
  const agent = createAgentClient({ url: coordinator.url, token: () => tokens.agent });
  const { lease } = await agent.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 });
  if (!lease) throw new Error('the fuzzing agent leased nothing');
  const leased = { jobId: lease.jobId, attempt: lease.attempt };
  await agent.agent.logs.mutate({ ...leased, chunks: [{ seq: 0, offset: 0, text: 'a log line\n' }] });
  let cases = 0;

  /** Sends one call as raw HTTP: a query as `GET ?input=`, a mutation as a JSON `POST`. */
  async function call(
    path: string,
    input: unknown,
    { token, kind = 'mutation' }: { token?: string; kind?: 'query' | 'mutation' },
  ): Promise<Refusal | 'succeeded'> {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const url = `${coordinator.url}/trpc/${path}`;
    const res =
      kind === 'query'
        ? await fetch(`${url}?input=${encodeURIComponent(JSON.stringify(input) ?? '')}`, { headers })
        : await fetch(url, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify(input) ?? '',
          });
    const body = (await res.json()) as { error?: { message?: unknown; data?: { hiveforgeCode?: unknown } } };
    if (res.ok) return 'succeeded';
    return { status: res.status, code: body.error?.data?.hiveforgeCode, message: body.error?.message };
  }

  /** Asserts that a call was refused with a typed 4xx and left the store as it was. */
  async function refused(path: string, input: unknown, options: { token?: string; kind?: 'query' | 'mutation' }) {
    cases++;
    const before = await snapshot(store);
    const answer = await call(path, input, options);
    const what = `${path} ${JSON.stringify(input)?.slice(0, 300)}`;
    expect(answer, what).not.toBe('succeeded');
    const { status, code, message } = answer as Refusal;
    expect({
      what,
      status: status >= 400 && status < 500,
      code: typeof code === 'string' && /^HF_[A-Z_]+$/.test(code),
    }).toEqual({
      what,
      status: true,
      code: true,
    });
    // One line: what was wrong, no stack.
    expect(typeof message === 'string' && !/\n\s+at /.test(message), what).toBe(true);
    expect(await snapshot(store), what).toBe(before);
  }

  const property = <T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, numRuns: number) =>
    fc.assert(fc.asyncProperty(arbitrary, check), { seed: SEED, numRuns: runs(numRuns), endOnFailure: true });

  const close = async () => {
    await coordinator.close();
    await store.close();
    console.log(`fuzz-api: ${cases} cases, seed ${SEED}`);
  };
  return {
    store,
    coordinator,
    tokens,
    runId,
    leased,
    refused,
    property,
    count: () => {
      cases++;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
