import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { createAgentClient } from '@hiveforge/agent';
import {
  type Coordinator,
  type Store,
  createCoordinator,
  createMemoryStore,
  createUserToken,
} from '@hiveforge/coordinator';
import { type HiveForgeClient, createHiveForgeClient, hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { packagePipeline } from 'hiveforge';
import { EventSource } from 'eventsource';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { jobLog } from './helpers/job-log.js';

const SECRET = 'a-registration-secret-for-tests';

/** Everything the Store's read side can see, to prove a rejected call changed nothing. */
async function snapshot(store: Store): Promise<string> {
  const pipelines = await store.listPipelines();
  const versions = await Promise.all(pipelines.map((p) => store.getPipelineVersion(p.versionId)));
  const history = await Promise.all(pipelines.map((p) => store.listPipelineVersions(p._id, { limit: 1000 })));
  const runs = await store.listRuns({ limit: 1000 });
  const jobs = (await Promise.all(runs.map((r) => store.listJobs(r._id)))).flat();
  const logs = await Promise.all(jobs.map((j) => store.readLogChunks(j._id)));
  const artifacts = await Promise.all(runs.map((r) => store.listArtifacts(r._id)));
  const agents = await store.listAgents();
  return JSON.stringify({
    pipelines,
    versions: versions.map((v) => v?._id),
    history,
    runs,
    jobs,
    logs,
    artifacts,
    agents,
  });
}

/** The error a call failed with: its HiveForge code, tRPC code and HTTP status. */
async function failure(call: Promise<unknown>) {
  const error = await call.then(
    () => {
      throw new Error('the call succeeded but should have failed');
    },
    (e: unknown) => e as { data?: { code?: string; httpStatus?: number; details?: unknown }; message: string },
  );
  return {
    hf: hiveforgeErrorCode(error),
    code: error.data?.code,
    status: error.data?.httpStatus,
    message: error.message,
    details: error.data?.details,
  };
}

describe('the tRPC API: auth, roles and bad input (real HTTP, memory store)', () => {
  let store: Store;
  let coordinator: Coordinator;
  let admin: HiveForgeClient;
  let maintainer: HiveForgeClient;
  let viewer: HiveForgeClient;
  let anonymous: HiveForgeClient;
  let pkg: Awaited<ReturnType<typeof packagePipeline>>;
  let agentToken: string;
  let otherAgentToken: string;
  const agentClient = (token: () => string | undefined) => createAgentClient({ url: coordinator.url, token });

  beforeAll(async () => {
    store = createMemoryStore();
    coordinator = await createCoordinator({ store, agentSecret: SECRET, scheduler: { pullWait: '200ms' } });
    admin = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'root', role: 'admin' }),
    });
    maintainer = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'mia', role: 'maintainer' }),
    });
    viewer = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'vic', role: 'viewer' }),
    });
    anonymous = createHiveForgeClient({ url: coordinator.url, token: 'hfu_not-a-real-token' });
    pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    await maintainer.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    agentToken = (
      await agentClient(() => undefined).agent.register.mutate({ secret: SECRET, name: 'a1', labels: [], capacity: 1 })
    ).token;
    otherAgentToken = (
      await agentClient(() => undefined).agent.register.mutate({ secret: SECRET, name: 'a2', labels: [], capacity: 1 })
    ).token;
  });
  afterAll(async () => {
    await coordinator?.close();
    await store?.close();
  });

  /** Runs a call that must fail, and checks that it left the store as it was. */
  async function rejects(call: () => Promise<unknown>) {
    const before = await snapshot(store);
    const result = await failure(call());
    expect(await snapshot(store)).toBe(before);
    return result;
  }

  const deployInput = () => ({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });

  it('health, readiness and metrics answer without a token', async () => {
    expect((await fetch(`${coordinator.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${coordinator.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(/^# TYPE hiveforge_queue_depth gauge$/m);
    expect(metrics).toMatch(/^hiveforge_dispatch_latency_seconds_count \d+$/m);
    expect(metrics).toMatch(/^hiveforge_lease_expiries_total 0$/m);
    expect(metrics).toMatch(/^hiveforge_queue_depth\{labels=""\} 0$/m);
    // A run's first job is queued (its second waits for it): the depth counts it.
    const run = await maintainer.runs.trigger.mutate({ pipeline: 'api' });
    const queued = await (await fetch(`${coordinator.url}/metrics`)).text();
    expect(queued).toMatch(/^hiveforge_queue_depth\{labels=""\} 1$/m);
    await maintainer.runs.cancel.mutate({ runId: run._id });
    expect(metrics).toMatch(/^hiveforge_store_wakeups\{mode="local"\} 1$/m);
  });

  describe('auth and roles', () => {
    it('a missing or unknown token is UNAUTHORIZED', async () => {
      expect(await rejects(() => anonymous.pipelines.list.query())).toMatchObject({
        code: 'UNAUTHORIZED',
        status: 401,
      });
      const none = createHiveForgeClient({ url: coordinator.url, token: '' });
      expect(await rejects(() => none.runs.list.query({}))).toMatchObject({ code: 'UNAUTHORIZED' });
    });
    it('a viewer cannot deploy, trigger or cancel', async () => {
      expect(await rejects(() => viewer.pipelines.deploy.mutate(deployInput()))).toMatchObject({
        code: 'FORBIDDEN',
        status: 403,
      });
      expect(await rejects(() => viewer.runs.trigger.mutate({ pipeline: 'api' }))).toMatchObject({ code: 'FORBIDDEN' });
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api' });
      expect(await rejects(() => viewer.runs.cancel.mutate({ runId: run._id }))).toMatchObject({ code: 'FORBIDDEN' });
      await maintainer.runs.cancel.mutate({ runId: run._id });
    });
    it('only an admin creates tokens', async () => {
      expect(await rejects(() => maintainer.tokens.create.mutate({ name: 'x', role: 'admin' }))).toMatchObject({
        code: 'FORBIDDEN',
      });
      const { token } = await admin.tokens.create.mutate({ name: 'ci', role: 'viewer' });
      expect(await createHiveForgeClient({ url: coordinator.url, token }).pipelines.list.query()).toHaveLength(1);
    });
    it('an agent token cannot call user procedures', async () => {
      const asAgent = createHiveForgeClient({ url: coordinator.url, token: agentToken });
      expect(await rejects(() => asAgent.runs.trigger.mutate({ pipeline: 'api' }))).toMatchObject({
        code: 'FORBIDDEN',
      });
      expect(await rejects(() => asAgent.pipelines.list.query())).toMatchObject({ code: 'FORBIDDEN' });
    });
    it('a user token cannot pull or complete a job', async () => {
      const userAsAgent = agentClient(() => undefined);
      expect(await rejects(() => userAsAgent.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 }))).toMatchObject({
        code: 'UNAUTHORIZED',
      });
      const withUserToken = createAgentClient({ url: coordinator.url, token: () => 'hfu_x' });
      expect(
        await rejects(() =>
          withUserToken.agent.complete.mutate({
            jobId: 'api/1/build',
            attempt: 1,
            result: { status: 'succeeded', exitCode: 0, error: null, outputs: {} },
          }),
        ),
      ).toMatchObject({ code: 'UNAUTHORIZED' });
    });
    it('registration with a wrong secret is refused and registers nothing', async () => {
      expect(
        await rejects(() =>
          agentClient(() => undefined).agent.register.mutate({ secret: 'wrong', name: 'x', labels: [], capacity: 1 }),
        ),
      ).toMatchObject({
        hf: 'HF_UNAUTHENTICATED',
        status: 401,
      });
    });
  });

  describe('bad input', () => {
    it('deploys: malformed input, unsafe paths, a missing entry, a pipeline that does not analyze', async () => {
      expect(
        await rejects(() => maintainer.pipelines.deploy.mutate({ entry: 'x.ts', files: 'nope', bundle: 'b' } as never)),
      ).toMatchObject({
        code: 'BAD_REQUEST',
        hf: 'HF_BAD_INPUT',
      });
      expect(
        await rejects(() =>
          maintainer.pipelines.deploy.mutate({ entry: '../x.ts', files: { '../x.ts': '' }, bundle: 'b' }),
        ),
      ).toMatchObject({ code: 'BAD_REQUEST' });
      expect(
        await rejects(() => maintainer.pipelines.deploy.mutate({ entry: 'missing.ts', files: pkg.files, bundle: 'b' })),
      ).toMatchObject({ code: 'NOT_FOUND', hf: 'HF_NOT_FOUND' });
      const cyclic =
        "import { job, pipeline } from '@hiveforge/sdk';\nexport default pipeline('c', () => {\n  job('a', { needs: ['a'] }, async () => {});\n});\n";
      const analysis = await rejects(() =>
        maintainer.pipelines.deploy.mutate({ entry: 'hiveforge.ts', files: { 'hiveforge.ts': cyclic }, bundle: 'b' }),
      );
      expect(analysis).toMatchObject({ code: 'UNPROCESSABLE_CONTENT', hf: 'HF_ANALYSIS_FAILED' });
      expect(analysis.details).toEqual([
        expect.objectContaining({ code: 'HF_ANALYSIS_CYCLE', file: 'hiveforge.ts', line: 3 }),
      ]);
    });
    it('runs: unknown pipeline, unknown job, unknown run, a forged cursor', async () => {
      expect(await rejects(() => maintainer.runs.trigger.mutate({ pipeline: 'nope' }))).toMatchObject({
        code: 'NOT_FOUND',
        hf: 'HF_NOT_FOUND',
      });
      expect(await rejects(() => maintainer.runs.trigger.mutate({ pipeline: 'api', only: ['deploy'] }))).toMatchObject({
        code: 'BAD_REQUEST',
        hf: 'HF_BAD_INPUT',
      });
      expect(
        await rejects(() => maintainer.runs.trigger.mutate({ pipeline: 'api', event: 'tuesday' as never })),
      ).toMatchObject({ code: 'BAD_REQUEST' });
      expect(await rejects(() => viewer.runs.get.query({ runId: 'api/999' }))).toMatchObject({ code: 'NOT_FOUND' });
      expect(await rejects(() => maintainer.runs.cancel.mutate({ runId: 'api/999' }))).toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(await rejects(() => maintainer.runs.retry.mutate({ runId: 'api/999' }))).toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(
        await rejects(() => viewer.runs.watch.query({ runId: 'api/1', cursor: 'not-a-cursor', waitMs: 0 })),
      ).toMatchObject({ code: 'BAD_REQUEST', hf: 'HF_BAD_INPUT' });
      expect(await rejects(() => viewer.runs.list.query({ limit: 100_000 }))).toMatchObject({ code: 'BAD_REQUEST' });
      expect(await rejects(() => viewer.runs.attempts.query({ runId: 'api/999', job: 'build' }))).toMatchObject({
        code: 'NOT_FOUND',
      });
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api' });
      expect(await rejects(() => viewer.runs.attempts.query({ runId: run._id, job: 'nope' }))).toMatchObject({
        code: 'NOT_FOUND',
        hf: 'HF_NOT_FOUND',
      });
      expect(await rejects(() => viewer.runs.attempts.query({ runId: run._id, job: '' }))).toMatchObject({
        code: 'BAD_REQUEST',
      });
      // Not leased yet: one attempt, queued, on no agent.
      expect(await viewer.runs.attempts.query({ runId: run._id, job: 'build' })).toEqual([
        {
          attempt: 1,
          agentId: null,
          leasedAt: null,
          endedAt: null,
          status: 'queued',
          cause: null,
          exitCode: null,
          error: null,
          retried: false,
          fingerprint: null,
        },
      ]);
      await maintainer.runs.cancel.mutate({ runId: run._id });
      expect(await viewer.runs.attempts.query({ runId: run._id, job: 'build' })).toMatchObject([
        { attempt: 1, agentId: null, leasedAt: null, status: 'cancelled', cause: 'cancelled', retried: false },
      ]);
    });
    it('agents: unknown agents cannot be suspended; malformed heartbeats are refused', async () => {
      expect(await rejects(() => maintainer.agents.suspend.mutate({ agentId: 'agent-nope' }))).toMatchObject({
        code: 'NOT_FOUND',
      });
      const agent = agentClient(() => agentToken);
      expect(
        await rejects(() => agent.agent.heartbeat.mutate({ leases: [{ jobId: 'x', attempt: 0 }], disk: null })),
      ).toMatchObject({ code: 'BAD_REQUEST' });
    });
  });

  describe('the agent protocol refuses what is not its own', () => {
    it('logs: oversized or overlong batches, stale attempts, other agents, unknown jobs', async () => {
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api' });
      const a1 = agentClient(() => agentToken);
      const a2 = agentClient(() => otherAgentToken);
      const { lease } = await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 });
      if (!lease) throw new Error('no lease');
      const big = 'x'.repeat(200_000);
      expect(
        await rejects(() =>
          a1.agent.logs.mutate({
            jobId: lease.jobId,
            attempt: 1,
            chunks: Array.from({ length: 6 }, (_, i) => ({ seq: i, offset: i * 200_000, text: big })),
          }),
        ),
      ).toMatchObject({ code: 'BAD_REQUEST', hf: 'HF_BAD_INPUT' });
      expect(
        await rejects(() =>
          a1.agent.logs.mutate({
            jobId: lease.jobId,
            attempt: 1,
            chunks: Array.from({ length: 300 }, (_, i) => ({ seq: i, offset: i, text: 'x' })),
          }),
        ),
      ).toMatchObject({ code: 'BAD_REQUEST' });
      expect(
        await rejects(() =>
          a1.agent.logs.mutate({ jobId: lease.jobId, attempt: 2, chunks: [{ seq: 0, offset: 0, text: 'x' }] }),
        ),
      ).toMatchObject({ code: 'CONFLICT', hf: 'HF_FENCED' });
      expect(
        await rejects(() =>
          a2.agent.logs.mutate({ jobId: lease.jobId, attempt: 1, chunks: [{ seq: 0, offset: 0, text: 'x' }] }),
        ),
      ).toMatchObject({ hf: 'HF_FENCED' });
      expect(
        await rejects(() =>
          a1.agent.logs.mutate({ jobId: 'api/404/nope', attempt: 1, chunks: [{ seq: 0, offset: 0, text: 'x' }] }),
        ),
      ).toMatchObject({ hf: 'HF_NOT_FOUND' });
      // A resent chunk is dropped, not duplicated.
      await a1.agent.logs.mutate({ jobId: lease.jobId, attempt: 1, chunks: [{ seq: 0, offset: 0, text: 'once\n' }] });
      expect(
        await a1.agent.logs.mutate({ jobId: lease.jobId, attempt: 1, chunks: [{ seq: 0, offset: 0, text: 'once\n' }] }),
      ).toEqual({ accepted: 0 });
      // A large batch travels gzip-compressed and is stored as sent.
      const long = 'compiling module 42 of 97\n'.repeat(400);
      expect(
        await a1.agent.logs.mutate({ jobId: lease.jobId, attempt: 1, chunks: [{ seq: 1, offset: 5, text: long }] }),
      ).toEqual({ accepted: 1 });
      const stored = await jobLog(viewer, { runId: run._id, job: lease.name });
      expect(stored.map((c) => c.text).join('')).toBe(`once\n${long}`);
      // Bodies the server cannot inflate, or will not: refused, nothing stored.
      const send = (body: Buffer, encoding: string) =>
        fetch(`${coordinator.url}/trpc/agent.logs`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-encoding': encoding,
            authorization: `Bearer ${agentToken}`,
          },
          body,
        }).then(async (res) => ({
          status: res.status,
          code: ((await res.json()) as { error: { data: { code: string } } }).error.data.code,
        }));
      const batch = Buffer.from(
        JSON.stringify({ jobId: lease.jobId, attempt: 1, chunks: [{ seq: 2, offset: 0, text: 'x' }] }),
      );
      const before = await snapshot(store);
      expect(await send(Buffer.from('not gzip at all'), 'gzip')).toEqual({ status: 400, code: 'BAD_REQUEST' });
      expect(await send(batch, 'br')).toEqual({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      // 40 MiB of zeros gzip to about 40 KiB: more than a coordinator inflates.
      expect(await send(gzipSync(Buffer.alloc(40 * 1024 * 1024)), 'gzip')).toEqual({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      });
      expect(await snapshot(store)).toBe(before);
      await maintainer.runs.cancel.mutate({ runId: run._id });
    });

    it('completion: another agent, a stale attempt, an unknown job, a conflicting replay', async () => {
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api', only: ['build'] });
      const a1 = agentClient(() => agentToken);
      const a2 = agentClient(() => otherAgentToken);
      const { lease } = await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 });
      if (!lease) throw new Error('no lease');
      const ok = { status: 'succeeded' as const, exitCode: 0, error: null, outputs: {} };
      expect(
        await rejects(() => a2.agent.complete.mutate({ jobId: lease.jobId, attempt: 1, result: ok })),
      ).toMatchObject({ hf: 'HF_FENCED' });
      expect(
        await rejects(() => a1.agent.complete.mutate({ jobId: lease.jobId, attempt: 2, result: ok })),
      ).toMatchObject({ hf: 'HF_FENCED' });
      expect(
        await rejects(() => a1.agent.complete.mutate({ jobId: 'api/404/nope', attempt: 1, result: ok })),
      ).toMatchObject({ hf: 'HF_NOT_FOUND' });
      expect(
        await rejects(() =>
          a1.agent.complete.mutate({ jobId: lease.jobId, attempt: 1, result: { ...ok, status: 'exploded' as never } }),
        ),
      ).toMatchObject({ code: 'BAD_REQUEST' });
      expect(await a1.agent.complete.mutate({ jobId: lease.jobId, attempt: 1, result: ok })).toEqual({
        duplicate: false,
        next: null,
      });
      expect(await a1.agent.complete.mutate({ jobId: lease.jobId, attempt: 1, result: ok })).toEqual({
        duplicate: true,
        next: null,
      });
      expect(
        await rejects(() =>
          a1.agent.complete.mutate({
            jobId: lease.jobId,
            attempt: 1,
            result: { ...ok, status: 'failed', exitCode: 1 },
          }),
        ),
      ).toMatchObject({ hf: 'HF_FENCED' });
      expect((await viewer.runs.get.query({ runId: run._id })).run.status).toBe('succeeded');
    });

    it('a completion can pull the next job: the dependent it frees is leased in the same call, once', async () => {
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api' });
      const a1 = agentClient(() => agentToken);
      const { lease } = await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 });
      if (lease?.runId !== run._id) throw new Error('no lease of the new run');
      const ok = { status: 'succeeded' as const, exitCode: 0, error: null, outputs: {} };
      const next = { requestId: randomUUID(), waitMs: 0 };
      const done = await a1.agent.complete.mutate({ jobId: lease.jobId, attempt: 1, result: ok, next });
      expect(done).toMatchObject({
        duplicate: false,
        next: { agentState: 'active', lease: { name: 'test', attempt: 1 } },
      });
      // A replay of the same call (a lost answer) gets the same lease back, not another job.
      const replay = await a1.agent.complete.mutate({ jobId: lease.jobId, attempt: 1, result: ok, next });
      expect(replay).toMatchObject({
        duplicate: true,
        next: { lease: { jobId: done.next?.lease?.jobId, attempt: 1 } },
      });
      const freed = done.next?.lease;
      if (!freed) throw new Error('no next lease');
      // A failed completion pulls nothing and changes nothing.
      expect(
        await rejects(() =>
          a1.agent.complete.mutate({ jobId: freed.jobId, attempt: 2, result: ok, next: { requestId: randomUUID() } }),
        ),
      ).toMatchObject({ hf: 'HF_FENCED' });
      expect(
        await rejects(() =>
          a1.agent.complete.mutate({ jobId: freed.jobId, attempt: 1, result: ok, next: { requestId: 'short' } }),
        ),
      ).toMatchObject({ code: 'BAD_REQUEST' });
      expect(await a1.agent.complete.mutate({ jobId: freed.jobId, attempt: 1, result: ok })).toEqual({
        duplicate: false,
        next: null,
      });
      expect((await viewer.runs.get.query({ runId: run._id })).run.status).toBe('succeeded');
    });

    it('a waiting pull whose agent went away leases nothing: the next pull gets the job', async () => {
      // A coordinator of its own, whose pulls wait long enough to outlive their client.
      await using waiting = await createCoordinator({
        store: createMemoryStore(),
        agentSecret: SECRET,
        scheduler: { pullWait: '20s' },
      });
      const user = createHiveForgeClient({
        url: waiting.url,
        token: await createUserToken(waiting.store, { name: 'mia', role: 'maintainer' }),
      });
      await user.pipelines.deploy.mutate(deployInput());
      const register = (name: string) =>
        createAgentClient({ url: waiting.url }).agent.register.mutate({
          secret: SECRET,
          name,
          labels: [],
          capacity: 1,
        });
      const [gone, stays] = [await register('gone'), await register('stays')];
      const abort = new AbortController();
      const abandoned = fetch(`${waiting.url}/trpc/agent.pull`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${gone.token}` },
        body: JSON.stringify({ requestId: randomUUID(), waitMs: 20_000 }),
        signal: abort.signal,
      }).catch((error: unknown) => (error as Error).name);
      await new Promise((resolve) => setTimeout(resolve, 300));
      abort.abort();
      expect(await abandoned).toBe('AbortError');
      await new Promise((resolve) => setTimeout(resolve, 200));
      const run = await user.runs.trigger.mutate({ pipeline: 'api', only: ['build'] });
      const { lease } = await createAgentClient({ url: waiting.url, token: () => stays.token }).agent.pull.mutate({
        requestId: randomUUID(),
        waitMs: 5_000,
      });
      expect(lease).toMatchObject({ runId: run._id, name: 'build' });
      await user.runs.cancel.mutate({ runId: run._id });
    });

    it('agent calls answer alike on the direct path and through the tRPC handler (batched)', async () => {
      const call = async (path: string, input: unknown, token: string | null, batched: boolean) => {
        const res = await fetch(`${coordinator.url}/trpc/${path}${batched ? '?batch=1' : ''}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(batched ? { 0: input } : input),
        });
        const body = (await res.json()) as unknown;
        return { status: res.status, body: batched ? (body as unknown[])[0] : body };
      };
      const userToken = await createUserToken(store, { name: 'direct', role: 'admin' });
      const cases: [string, unknown, string | null][] = [
        ['agent.pull', { requestId: randomUUID(), waitMs: 0 }, otherAgentToken],
        ['agent.pull', { requestId: 'short' }, otherAgentToken],
        ['agent.pull', { requestId: randomUUID() }, null],
        ['agent.pull', { requestId: randomUUID() }, userToken],
        ['agent.heartbeat', { leases: 'all of them' }, otherAgentToken],
        ['agent.heartbeat', { leases: [{ jobId: 'api/404/nope', attempt: 1 }] }, otherAgentToken],
        ['agent.start', { jobId: 'api/404/nope', attempt: 1 }, otherAgentToken],
        ['agent.complete', { jobId: 'api/404/nope', attempt: 1, result: { status: 'succeeded' } }, otherAgentToken],
        ['agent.logs', { jobId: 'api/404/nope', attempt: 1, chunks: [] }, otherAgentToken],
      ];
      for (const [path, input, token] of cases) {
        const direct = await call(path, input, token, false);
        const handled = await call(path, input, token, true);
        expect({ path, input, ...direct }).toEqual({ path, input, ...handled });
      }
      // Not JSON: the same status and error code.
      const garbage = await fetch(`${coordinator.url}/trpc/agent.pull`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${otherAgentToken}` },
        body: '{"requestId":',
      });
      expect(garbage.status).toBe(400);
      expect(((await garbage.json()) as { error: { data: { code: string } } }).error.data.code).toBe('PARSE_ERROR');
    });

    it('artifacts: unsafe archives, user tokens and stale attempts are refused', async () => {
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api', only: ['build'] });
      const a1 = agentClient(() => agentToken);
      const { lease } = await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 });
      if (!lease) throw new Error('no lease');
      const dir = await mkdtemp(join(tmpdir(), 'hf-api-'));
      try {
        await writeFile(join(dir, 'evil.txt'), 'x');
        await mkdir(join(dir, 'sub'));
        const parts: Buffer[] = [];
        for await (const c of tar.create({ gzip: true, cwd: join(dir, 'sub'), preservePaths: true }, [
          '../evil.txt',
        ]) as unknown as AsyncIterable<Buffer>)
          parts.push(Buffer.from(c));
        const upload = (token: string, attempt: number, body: Buffer) =>
          fetch(
            `${coordinator.url}/api/artifacts/${encodeURIComponent(run._id)}?name=dist&jobId=${encodeURIComponent(lease.jobId)}&attempt=${attempt}`,
            {
              method: 'PUT',
              headers: { authorization: `Bearer ${token}` },
              body,
            },
          );
        const before = await snapshot(store);
        const evil = await upload(agentToken, 1, Buffer.concat(parts));
        expect(evil.status).toBe(400);
        expect(await evil.json()).toMatchObject({ code: 'HF_ARTIFACT_INVALID' });
        const garbage = await upload(agentToken, 1, Buffer.from('not a tarball'));
        expect(garbage.status).toBe(400);
        const stale = await upload(agentToken, 2, Buffer.from('x'));
        expect(stale.status).toBe(409);
        const user = await upload('hfu_x', 1, Buffer.from('x'));
        expect(user.status).toBe(401);
        expect(await snapshot(store)).toBe(before);
      } finally {
        await rm(dir, { recursive: true, force: true });
        await maintainer.runs.cancel.mutate({ runId: run._id });
      }
    });
  });

  describe('operating', () => {
    it('suspended and draining agents get no jobs; resumed ones do', async () => {
      const a1 = agentClient(() => agentToken);
      const agents = await viewer.agents.list.query();
      const me = agents.find((a) => a.name === 'a1');
      if (!me) throw new Error('agent a1 not listed');
      expect(me).not.toHaveProperty('tokenHash');
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api', only: ['build'] });
      await maintainer.agents.suspend.mutate({ agentId: me._id });
      expect((await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 })).lease).toBeNull();
      await maintainer.agents.drain.mutate({ agentId: me._id });
      expect((await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 })).lease).toBeNull();
      await maintainer.agents.resume.mutate({ agentId: me._id });
      expect((await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 })).lease?.runId).toBe(run._id);
      await maintainer.runs.cancel.mutate({ runId: run._id });
    });

    it("a suspend through another coordinator reaches this one's pulls by the agent's next heartbeat", async () => {
      const other = await createCoordinator({ store, agentSecret: SECRET, schedules: false });
      try {
        const viaOther = createHiveForgeClient({
          url: other.url,
          token: await createUserToken(store, { name: 'mo', role: 'maintainer' }),
        });
        const a1 = agentClient(() => agentToken);
        const me = (await viewer.agents.list.query()).find((a) => a.name === 'a1');
        if (!me) throw new Error('agent a1 not listed');
        const run = await maintainer.runs.trigger.mutate({ pipeline: 'api', only: ['build'] });
        // This coordinator keeps a1's record (active) for its requests.
        expect((await a1.agent.heartbeat.mutate({ leases: [] })).agentState).toBe('active');
        await viaOther.agents.suspend.mutate({ agentId: me._id });
        // The heartbeat reads the record and reports the change; the next pull sees it too.
        expect((await a1.agent.heartbeat.mutate({ leases: [] })).agentState).toBe('suspended');
        expect((await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 })).lease).toBeNull();
        await viaOther.agents.resume.mutate({ agentId: me._id });
        expect((await a1.agent.heartbeat.mutate({ leases: [] })).agentState).toBe('active');
        expect((await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 1_000 })).lease?.runId).toBe(run._id);
        await maintainer.runs.cancel.mutate({ runId: run._id });
      } finally {
        await other.close();
      }
    });

    it('the custom-ui example lists pipelines, agents and runs through the typed client', async () => {
      const { token } = await admin.tokens.create.mutate({ name: 'dashboard', role: 'viewer' });
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', join(repoRoot, 'examples/custom-ui/dashboard.ts')],
          { env: { ...process.env, HIVEFORGE_URL: coordinator.url, HIVEFORGE_TOKEN: token }, timeout: 30_000 },
          (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
      expect(out).toMatch(/^pipelines: api$/m);
      expect(out).toMatch(/^schedules: \(none\)$/m);
      expect(out).toMatch(/^agents: {4}a1 \[active, \d job\(s\)\], a2 \[active, \d job\(s\)\]$/m);
      expect(out).toMatch(/^ {2}api\/\d+ +\w+ +manual/m);
    });

    it('runs.tail streams a run as Server-Sent Events until it ends, logs before job states', async () => {
      const tail = createHiveForgeClient({
        url: coordinator.url,
        token: await createUserToken(store, { name: 'tv', role: 'viewer' }),
        EventSource,
      });
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api' });
      const seen: string[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        const sub = tail.runs.tail.subscribe(
          { runId: run._id },
          {
            onData: ({ data }) => {
              for (const e of data)
                seen.push(
                  e.type === 'log'
                    ? `log ${e.job} ${e.text.trim()}`
                    : e.type === 'job'
                      ? `${e.job} ${e.state}`
                      : `run ${e.status}`,
                );
              if (data.some((e) => e.type === 'run')) {
                sub.unsubscribe();
                resolve();
              }
            },
            onError: reject,
          },
        );
      });
      const a1 = agentClient(() => agentToken);
      for (const name of ['build', 'test']) {
        const { lease } = await a1.agent.pull.mutate({ requestId: randomUUID(), waitMs: 2_000 });
        expect(lease?.name).toBe(name);
        if (!lease) return;
        await a1.agent.start.mutate({ jobId: lease.jobId, attempt: 1 });
        await a1.agent.logs.mutate({
          jobId: lease.jobId,
          attempt: 1,
          chunks: [{ seq: 0, offset: 0, text: `hello from ${name}\n` }],
        });
        await a1.agent.complete.mutate({
          jobId: lease.jobId,
          attempt: 1,
          result: { status: 'succeeded', exitCode: 0, error: null, outputs: {} },
        });
      }
      await ended;
      expect(seen).toEqual(
        expect.arrayContaining([
          'log build hello from build',
          'log test hello from test',
          'build succeeded',
          'test succeeded',
          'run succeeded',
        ]),
      );
      expect(seen.indexOf('log build hello from build')).toBeLessThan(seen.indexOf('build succeeded'));
      expect(seen.at(-1)).toBe('run succeeded');
    });

    it('events.watch reports runs and agents as they change', async () => {
      const feed = createHiveForgeClient({
        url: coordinator.url,
        token: await createUserToken(store, { name: 'feed', role: 'viewer' }),
        EventSource,
      });
      const seen: string[] = [];
      let runId = '';
      const got = new Promise<void>((resolve, reject) => {
        const sub = feed.events.watch.subscribe(
          { intervalMs: 100 },
          {
            onStarted: async () => {
              runId = (await maintainer.runs.trigger.mutate({ pipeline: 'api' }))._id;
              await agentClient(() => undefined).agent.register.mutate({
                secret: SECRET,
                name: 'newcomer',
                labels: [],
                capacity: 1,
              });
            },
            onData: (e) => {
              seen.push(e.type === 'run' ? `run ${e.runId} ${e.status}` : `agent ${e.name} ${e.state}`);
              if (runId && seen.includes(`run ${runId} running`) && seen.includes('agent newcomer active')) {
                sub.unsubscribe();
                resolve();
              }
            },
            onError: reject,
          },
        );
      });
      await got;
      await maintainer.runs.cancel.mutate({ runId });
    });

    it('pipelines.versions lists deployed versions newest first, once each, page by page', async () => {
      const first = await viewer.pipelines.get.query({ name: 'api' });
      // The same content again is the same version: no new entry.
      const again = await maintainer.pipelines.deploy.mutate(deployInput());
      expect(again.versionId).toBe(first.versionId);
      expect((await viewer.pipelines.versions.query({ name: 'api' })).versions).toHaveLength(1);
      // Changed content is a new version, and the new head.
      const changed = await maintainer.pipelines.deploy.mutate({ ...deployInput(), bundle: `${pkg.bundle}\n// v2\n` });
      expect(changed.versionId).not.toBe(first.versionId);
      const listed = await viewer.pipelines.versions.query({ name: 'api' });
      expect(listed).toEqual({
        name: 'api',
        head: changed.versionId,
        versions: [
          {
            versionId: changed.versionId,
            createdAt: expect.any(Number),
            entry: pkg.entry,
            jobs: ['build', 'test'],
            jobCount: 2,
            isHead: true,
          },
          expect.objectContaining({ versionId: first.versionId, isHead: false, jobCount: 2 }),
        ],
        nextBefore: null,
      });
      expect(listed.versions[0]).not.toHaveProperty('bundle');
      expect(listed.versions[0]).not.toHaveProperty('spec');
      const page1 = await viewer.pipelines.versions.query({ name: 'api', limit: 1 });
      expect(page1.versions.map((v) => v.versionId)).toEqual([changed.versionId]);
      expect(page1.nextBefore).toBe(changed.versionId);
      const page2 = await viewer.pipelines.versions.query({
        name: 'api',
        limit: 1,
        before: page1.nextBefore as string,
      });
      expect(page2.versions.map((v) => v.versionId)).toEqual([first.versionId]);
      expect(page2.nextBefore).toBeNull();
      // pipelines.get reads the head, or any version of the pipeline.
      expect(await viewer.pipelines.get.query({ name: 'api' })).toMatchObject({
        versionId: changed.versionId,
        head: changed.versionId,
      });
      expect(await viewer.pipelines.get.query({ name: 'api', versionId: first.versionId })).toMatchObject({
        name: 'api',
        versionId: first.versionId,
        head: changed.versionId,
        entry: pkg.entry,
        spec: { name: 'api' },
      });
    });

    it('pipelines.versions and pipelines.get refuse unknown pipelines, versions and cursors, and bad limits', async () => {
      expect(await rejects(() => viewer.pipelines.versions.query({ name: 'nope' }))).toMatchObject({
        code: 'NOT_FOUND',
        hf: 'HF_NOT_FOUND',
        status: 404,
      });
      for (const limit of [0, -1, 101, 1.5]) {
        expect(await rejects(() => viewer.pipelines.versions.query({ name: 'api', limit }))).toMatchObject({
          code: 'BAD_REQUEST',
          hf: 'HF_BAD_INPUT',
        });
      }
      expect(
        await rejects(() => viewer.pipelines.versions.query({ name: 'api', limit: 'ten' as never })),
      ).toMatchObject({ code: 'BAD_REQUEST' });
      expect(
        await rejects(() => viewer.pipelines.versions.query({ name: 'api', before: 'not-a-version' })),
      ).toMatchObject({
        code: 'BAD_REQUEST',
        hf: 'HF_BAD_INPUT',
      });
      expect(
        await rejects(() => viewer.pipelines.get.query({ name: 'api', versionId: 'not-a-version' })),
      ).toMatchObject({ code: 'NOT_FOUND', hf: 'HF_NOT_FOUND' });
      expect(await rejects(() => anonymous.pipelines.versions.query({ name: 'api' }))).toMatchObject({
        code: 'UNAUTHORIZED',
      });
    });

    it('a trigger with a request id is safe to send again; the id with other parameters is a conflict', async () => {
      const requestId = `deploy-${randomUUID()}`;
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api', branch: 'main', requestId });
      expect(await maintainer.runs.trigger.mutate({ pipeline: 'api', branch: 'main', requestId })).toMatchObject({
        _id: run._id,
      });
      expect(
        await rejects(() => maintainer.runs.trigger.mutate({ pipeline: 'api', branch: 'other', requestId })),
      ).toMatchObject({ code: 'CONFLICT', hf: 'HF_CONFLICT' });
      for (const bad of ['', 'has space', 'x'.repeat(129), 'slash/in/it']) {
        expect(await rejects(() => maintainer.runs.trigger.mutate({ pipeline: 'api', requestId: bad }))).toMatchObject({
          code: 'BAD_REQUEST',
          hf: 'HF_BAD_INPUT',
        });
      }
      await maintainer.runs.cancel.mutate({ runId: run._id });
    });

    it('retry runs the same version again as a new run', async () => {
      const run = await maintainer.runs.trigger.mutate({ pipeline: 'api', branch: 'main' });
      await maintainer.runs.cancel.mutate({ runId: run._id });
      const again = await maintainer.runs.retry.mutate({ runId: run._id });
      expect(again._id).not.toBe(run._id);
      expect(again.versionId).toBe(run.versionId);
      expect(again.trigger.branch).toBe('main');
      await maintainer.runs.cancel.mutate({ runId: again._id });
    });
  });
});

describe('schedules and the events collection through the API (real HTTP, memory store)', () => {
  let store: Store;
  let coordinator: Coordinator;
  let maintainer: HiveForgeClient;
  let viewer: HiveForgeClient;
  const nightly = [
    "import { job, pipeline } from '@hiveforge/sdk';",
    "export default pipeline('nightly', { on: { schedule: ['0 3 * * *', '30 4 * * MON'] } }, () => {",
    "  job('build', async (ctx) => { await ctx.sh`echo build`; });",
    '});',
    '',
  ].join('\n');

  beforeAll(async () => {
    store = createMemoryStore();
    // The ticker is driven by the test (tickSchedules), not by its interval.
    coordinator = await createCoordinator({ store, agentSecret: SECRET, scheduler: { scheduleInterval: '1h' } });
    maintainer = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'mia', role: 'maintainer' }),
      EventSource,
    });
    viewer = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'vic', role: 'viewer' }),
      EventSource,
    });
  });
  afterAll(async () => {
    await coordinator?.close();
  });

  it('a deploy lists its schedules with their next fire time; a due tick runs the pipeline and shows as the last run', async () => {
    const before = Date.now();
    await maintainer.pipelines.deploy.mutate({
      entry: 'hiveforge.ts',
      files: { 'hiveforge.ts': nightly },
      bundle: 'b',
    });
    const listed = await viewer.schedules.list.query({ pipeline: 'nightly' });
    expect(listed.map((s) => s.cron).sort()).toEqual(['0 3 * * *', '30 4 * * MON']);
    for (const s of listed) {
      expect(s).toMatchObject({ pipeline: 'nightly', enabled: true, lastRun: null, lastFiredAt: null });
      expect(s.nextFireAt).toBeGreaterThan(before);
      expect(new Date(s.nextFireAt ?? 0).getUTCSeconds()).toBe(0);
    }
    const daily = listed.find((s) => s.cron === '0 3 * * *');
    if (!daily?.nextFireAt) throw new Error('no daily schedule');
    expect(new Date(daily.nextFireAt).toISOString()).toMatch(/T03:00:00\.000Z$/);
    // Make the schedule due as if no coordinator had run for two days, then tick: the ticks
    // missed fire once, for the latest of them.
    const due = daily.nextFireAt - 2 * 86_400_000;
    await store.updateSchedule(daily.scheduleId, { nextFireAt: due });
    expect(await coordinator.scheduler.tickSchedules()).toEqual({ fired: 1 });
    expect(await coordinator.scheduler.tickSchedules()).toEqual({ fired: 0 });
    const after = (await viewer.schedules.list.query({ pipeline: 'nightly' })).find((s) => s.cron === '0 3 * * *');
    const fired = after?.lastFiredAt ?? 0;
    expect(fired).toBeGreaterThan(due);
    expect(fired).toBeLessThanOrEqual(Date.now());
    expect(new Date(fired).toISOString()).toMatch(/T03:00:00\.000Z$/);
    expect(after?.nextFireAt).toBe(fired + 86_400_000);
    expect(after?.lastRun).toMatchObject({ runId: 'nightly/1', number: 1, status: 'running' });
    const run = await viewer.runs.get.query({ runId: 'nightly/1' });
    expect(run.run.trigger).toMatchObject({ event: 'schedule', actor: 'schedule' });
    await maintainer.runs.cancel.mutate({ runId: 'nightly/1' });
    // A deploy without the weekly cron disables it; listing it needs includeDisabled.
    await maintainer.pipelines.deploy.mutate({
      entry: 'hiveforge.ts',
      files: { 'hiveforge.ts': nightly.replace(", '30 4 * * MON'", '') },
      bundle: 'b',
    });
    expect((await viewer.schedules.list.query({ pipeline: 'nightly' })).map((s) => s.cron)).toEqual(['0 3 * * *']);
    const all = await viewer.schedules.list.query({ pipeline: 'nightly', includeDisabled: true });
    expect(all.find((s) => s.cron === '30 4 * * MON')).toMatchObject({ enabled: false, nextFireAt: null });
  });

  it('events.list pages through deploys, runs and schedule ticks in order', async () => {
    const seen: { id: string; type: string }[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 100; pages++) {
      const page = await viewer.events.list.query({ after: cursor, limit: 2 });
      seen.push(...page.events.map((e) => ({ id: e.id, type: e.type })));
      expect(page.events.length).toBeLessThanOrEqual(2);
      if (!page.more) break;
      cursor = page.cursor ?? undefined;
    }
    const ids = seen.map((e) => e.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['pipeline', 'schedule', 'run']));
    const schedules = await viewer.events.list.query({ types: ['schedule'] });
    expect(schedules.events).toEqual([
      expect.objectContaining({ type: 'schedule', pipeline: 'nightly', cron: '0 3 * * *', runId: 'nightly/1' }),
    ]);
    expect(await failure(viewer.events.list.query({ after: 'not a cursor' })).then((f) => [f.code, f.hf])).toEqual([
      'BAD_REQUEST',
      'HF_BAD_INPUT',
    ]);
  });

  it('events.watch resumes after a stored event id without a snapshot; events.tail reports every kind', async () => {
    const { cursor } = await viewer.events.list.query({ limit: 500 });
    if (!cursor) throw new Error('no events yet');
    const resumed: string[] = [];
    const tailed: string[] = [];
    let watch: { unsubscribe(): void } | undefined;
    let tail: { unsubscribe(): void } | undefined;
    const gotWatch = new Promise<void>((resolve, reject) => {
      watch = viewer.events.watch.subscribe(
        { after: cursor, intervalMs: 100 },
        {
          onData: (e) => {
            expect(e.id > cursor).toBe(true);
            resumed.push(e.type === 'run' ? `run ${e.runId} ${e.status}` : `agent ${e.name} ${e.state}`);
            if (resumed.includes('run nightly/2 running')) resolve();
          },
          onError: reject,
        },
      );
    });
    const gotTail = new Promise<void>((resolve, reject) => {
      tail = viewer.events.tail.subscribe(
        { after: cursor, types: ['pipeline', 'run'], intervalMs: 100 },
        {
          onData: ({ id, data }) => {
            expect(id).toBe(data.id);
            tailed.push(data.type === 'run' ? `run ${data.runId} ${data.status}` : data.type);
            if (tailed.includes('pipeline') && tailed.includes('run nightly/2 running')) resolve();
          },
          onError: reject,
        },
      );
    });
    await maintainer.pipelines.deploy.mutate({
      entry: 'hiveforge.ts',
      files: { 'hiveforge.ts': nightly.replace('echo build', 'echo build again') },
      bundle: 'b2',
    });
    const run = await maintainer.runs.trigger.mutate({ pipeline: 'nightly' });
    await Promise.all([gotWatch, gotTail]);
    watch?.unsubscribe();
    tail?.unsubscribe();
    // Resumed: nothing from before the cursor (no snapshot of nightly/1), and only runs and agents.
    expect(resumed).toEqual(['run nightly/2 running']);
    expect(tailed).toEqual(['pipeline', 'run nightly/2 running']);
    await maintainer.runs.cancel.mutate({ runId: run._id });
  });
});
