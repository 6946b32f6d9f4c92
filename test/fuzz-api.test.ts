import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FuzzTarget,
  anyText,
  badCount,
  badInput,
  longText,
  notNumber,
  notObject,
  notString,
  snapshot,
  startFuzzTarget,
} from './helpers/fuzz.js';

/**
 * Fuzzing the API's inputs against a real coordinator (HTTP on loopback, memory store): every bad
 * input must be refused with a 4xx and an `HF_*` code, never a 500, and must leave the store as it
 * was. Each source of input has its own property below (triggers, run reads, deploys, the agent
 * protocol, tokens, raw HTTP); webhook payloads get theirs when webhooks exist. The seed is fixed,
 * so a failure replays; `HF_FUZZ_SEED` and `HF_FUZZ_RUNS` (a factor) explore further.
 */
describe('fuzzing the API: every bad input is a typed 4xx and changes nothing (real HTTP, memory store)', () => {
  let target: FuzzTarget;
  let store: FuzzTarget['store'];
  let coordinator: FuzzTarget['coordinator'];
  let tokens: FuzzTarget['tokens'];
  let runId: string;
  let leased: FuzzTarget['leased'];
  let refused: FuzzTarget['refused'];
  let property: FuzzTarget['property'];

  beforeAll(async () => {
    target = await startFuzzTarget();
    ({ store, coordinator, tokens, runId, leased, refused, property } = target);
  });
  afterAll(() => target?.close());

  it('runs.trigger: unknown, missing, mistyped and oversized inputs; bad fields', async () => {
    const declared = ['note', 'count', 'dryRun', 'target'];
    const badInputs = fc.oneof(
      // An input the pipeline does not declare.
      fc
        .dictionary(anyText, fc.oneof(fc.string(), fc.integer(), fc.boolean()), { minKeys: 1, maxKeys: 4 })
        .filter((d) => Object.keys(d).some((k) => !declared.includes(k))),
      // A declared input of the wrong type.
      fc.record({ note: fc.oneof(fc.integer(), fc.boolean()) }),
      fc.record({ note: fc.string(), count: fc.oneof(fc.string(), fc.boolean()) }),
      fc.record({ note: fc.string(), dryRun: fc.oneof(fc.string(), fc.integer()) }),
      // A choice outside its options.
      fc.record({ note: fc.string(), target: fc.string().filter((t) => t !== 'staging' && t !== 'production') }),
      // Values no input can have, and sizes past the limits.
      fc.record({
        note: fc.oneof(fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 })),
      }),
      fc.record({ note: longText(64 * 1024) }),
      fc.dictionary(fc.string({ minLength: 101, maxLength: 300 }), fc.string(), { minKeys: 1, maxKeys: 2 }),
      fc
        .integer({ min: 101, max: 300 })
        .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`i${i}`, i]))),
    );
    const trigger = badInput({
      pipeline: { ok: fc.constant('inputs'), bad: fc.oneof(notString, fc.constant(''), longText(100)) },
      inputs: { ok: fc.constant({ note: 'ok' }), bad: fc.oneof(badInputs, notObject) },
      event: {
        ok: fc.constant('manual'),
        bad: fc.oneof(
          notString,
          anyText.filter((e) => !['manual', 'push', 'pull_request', 'schedule', 'local'].includes(e)),
        ),
        optional: true,
      },
      branch: { ok: fc.constant('main'), bad: fc.oneof(fc.integer(), longText(255)), optional: true },
      commit: { ok: fc.constant(null), bad: fc.oneof(fc.boolean(), longText(100)), optional: true },
      repository: { ok: fc.constant(null), bad: fc.oneof(fc.integer(), longText(2_000)), optional: true },
      only: {
        ok: fc.constant(['build']),
        bad: fc.oneof(
          notObject.filter((o) => !Array.isArray(o) || o.length > 0), // [] selects every job
          fc.array(notString, { minLength: 1, maxLength: 3 }),
          fc.array(
            anyText.filter((j) => !['build', 'lint', 'deploy'].includes(j)),
            { minLength: 1, maxLength: 3 },
          ),
          fc.constant(['']),
        ),
        optional: true,
      },
      requestId: {
        ok: fc.constant(undefined),
        bad: fc.oneof(
          notString,
          fc.constant(''),
          anyText.filter((r) => !/^[A-Za-z0-9._:-]{1,128}$/.test(r)),
        ),
        optional: true,
      },
    });
    await property(trigger, (input) => refused('runs.trigger', input, { token: tokens.maintainer }), 500);
  });

  it('runs.get, list, attempts, logs, watch, cancel and retry: wrong shapes and unknown runs', async () => {
    const unknownRun = fc.oneof(
      anyText.filter((r) => r.length > 0 && r.length <= 300 && r !== runId),
      fc.constant('inputs/999'),
    );
    const badRunId = fc.oneof(notString, fc.constant(''), longText(300));
    const cases = fc.oneof(
      badInput({ runId: { ok: unknownRun, bad: badRunId } }).map((input) => ['runs.get', 'query', input] as const),
      badInput({
        runId: { ok: fc.constant(runId), bad: fc.oneof(badRunId) },
        job: { ok: fc.constant('build'), bad: fc.oneof(notString, fc.constant(''), longText(300)) },
      }).map((input) => ['runs.attempts', 'query', input] as const),
      fc
        .record({ runId: unknownRun, job: anyText.filter((j) => j.length > 0 && j.length <= 300) })
        .map((input) => ['runs.attempts', 'query', input] as const),
      badInput({
        pipeline: { ok: fc.constant('inputs'), bad: notString, optional: true },
        status: {
          ok: fc.constant('running'),
          bad: fc.oneof(notString, fc.constant('queued'), anyText),
          optional: true,
        },
        before: { ok: fc.constant(Date.now()), bad: notNumber, optional: true },
        limit: { ok: fc.constant(10), bad: fc.oneof(badCount, fc.integer({ min: 201 })), optional: true },
      }).map((input) => ['runs.list', 'query', input] as const),
      badInput({
        runId: { ok: fc.constant(runId), bad: badRunId },
        job: { ok: fc.constant('build'), bad: fc.oneof(notString, fc.constant(''), longText(300)) },
        attempt: { ok: fc.constant(1), bad: fc.oneof(badCount, fc.integer({ min: 1_000_001 })), optional: true },
        cursor: {
          ok: fc.constant('1:0'),
          bad: fc.oneof(
            notString,
            anyText.filter((c) => !/^\d{1,7}:\d{1,15}$/.test(c)),
            fc.constant('-1:3'),
            fc.constant('1:1e3'),
          ),
          optional: true,
        },
        maxBytes: {
          ok: fc.constant(65_536),
          bad: fc.oneof(badCount, fc.integer({ max: 65_535 }), fc.integer({ min: 4 * 1024 * 1024 + 1 })),
          optional: true,
        },
      }).map((input) => ['runs.logs', 'query', input] as const),
      fc
        .record({ runId: unknownRun, job: fc.constant('build') })
        .map((input) => ['runs.logs', 'query', input] as const),
      badInput({
        runId: { ok: fc.constant(runId), bad: badRunId },
        cursor: {
          ok: fc.constant(undefined),
          bad: fc.oneof(
            notString,
            anyText.filter((c) => c.length > 0),
            longText(4_000), // not past its 1,000,000 characters: a query input travels in its URL
          ),
        },
        waitMs: {
          ok: fc.constant(0),
          bad: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 30_001 }), notNumber),
          optional: true,
        },
      }).map((input) => ['runs.watch', 'query', input] as const),
      badInput({ runId: { ok: unknownRun, bad: badRunId } }).map(
        (input) => ['runs.cancel', 'mutation', input] as const,
      ),
      badInput({ runId: { ok: unknownRun, bad: badRunId } }).map((input) => ['runs.retry', 'mutation', input] as const),
    );
    await property(
      cases,
      ([path, kind, input]) =>
        refused(path, input, { token: kind === 'query' ? tokens.viewer : tokens.maintainer, kind }),
      600,
    );
  });

  it('pipelines.deploy and the admin calls: unsafe paths, wrong shapes, code that is no pipeline', async () => {
    const safePath = fc.constantFrom('hiveforge.ts', 'src/lib.ts');
    const unsafePath = fc.oneof(
      fc.constantFrom('../x.ts', '/abs.ts', 'a/../../b.ts', '..', ''),
      longText(500),
      fc.string().map((s) => `../${s}`),
    );
    const deploy = badInput({
      entry: { ok: safePath, bad: fc.oneof(notString, unsafePath, fc.constant('missing.ts')) },
      files: {
        ok: fc.constant({ 'hiveforge.ts': 'export const x = 1;\n' }),
        bad: fc.oneof(
          notObject,
          fc.dictionary(unsafePath, fc.string(), { minKeys: 1, maxKeys: 2 }),
          fc.dictionary(safePath, notString, { minKeys: 1, maxKeys: 2 }),
          // Code the analyzer reads and finds no pipeline in, or cannot parse.
          fc.record({
            'hiveforge.ts': fc.oneof(anyText, fc.constantFrom('export default 1;', 'pipeline(', 'import x from "y";')),
          }),
        ),
      },
      bundle: { ok: fc.constant('console.log(1)'), bad: fc.oneof(notString, fc.constant('')) },
    });
    const admin = fc.oneof(
      badInput({
        name: { ok: fc.constant('ci'), bad: fc.oneof(notString, fc.constant(''), longText(100)) },
        role: {
          ok: fc.constant('viewer'),
          bad: fc.oneof(
            notString,
            anyText.filter((r) => !['admin', 'maintainer', 'viewer'].includes(r)),
          ),
        },
        expires: {
          ok: fc.constant('30d'),
          bad: fc.oneof(notString, fc.constantFrom('0s', '-1d', '3651d', 'forever', ''), anyText),
          optional: true,
        },
      }).map((input) => ['tokens.create', input] as const),
      badInput({
        id: {
          ok: anyText.filter((i) => i.length > 0 && i.length <= 100),
          bad: fc.oneof(notString, fc.constant(''), longText(100)),
        },
      }).map((input) => ['tokens.revoke', input] as const),
      fc
        .tuple(
          fc.constantFrom('agents.suspend', 'agents.drain', 'agents.resume'),
          badInput({
            agentId: {
              ok: anyText.filter((i) => i.length > 0 && i.length <= 200),
              bad: fc.oneof(notString, fc.constant(''), longText(200)),
            },
          }),
        )
        .map(([path, input]) => [path, input] as const),
    );
    await property(deploy, (input) => refused('pipelines.deploy', input, { token: tokens.maintainer }), 120);
    await property(admin, ([path, input]) => refused(path, input, { token: tokens.admin }), 300);
  });

  it('the agent protocol: wrong shapes, huge numbers, negative sequences, jobs the agent does not hold', async () => {
    const badAttempt = fc.oneof(badCount, notNumber);
    const otherJob = fc.oneof(
      fc.constant(`${runId}/lint`),
      fc.constant(`${runId}/deploy`),
      anyText.filter((j) => j.length > 0 && j.length <= 500 && j !== leased.jobId),
    );
    const badJobId = fc.oneof(notString, fc.constant(''), longText(500));
    const chunk = fc.record({ seq: fc.nat(), offset: fc.nat(), text: fc.string({ maxLength: 20 }) });
    const badChunk = fc.oneof(
      fc.record({
        seq: fc.oneof(fc.integer({ max: -1 }), notNumber, fc.double({ min: 0.1, max: 9.9, noNaN: true })),
        offset: fc.nat(),
        text: fc.string(),
      }),
      fc.record({ seq: fc.nat(), offset: fc.oneof(fc.integer({ max: -1 }), notNumber), text: fc.string() }),
      fc.record({ seq: fc.nat(), offset: fc.nat(), text: fc.oneof(notString, longText(262_144)) }),
      notObject,
    );
    const result = fc.record({
      status: fc.constantFrom('succeeded', 'failed'),
      exitCode: fc.constant(0),
      error: fc.constant(null),
      outputs: fc.constant({}),
    });
    const badResult = fc.oneof(
      notObject,
      fc.record({ status: fc.oneof(notString, anyText), exitCode: fc.constant(0), error: fc.constant(null) }),
      fc.record({
        status: fc.constant('failed'),
        exitCode: fc.oneof(fc.double({ min: 0.1, max: 1e9, noNaN: true }), fc.string()),
        error: fc.constant(null),
      }),
      fc.record({ status: fc.constant('failed'), exitCode: fc.constant(1), error: longText(16_384) }),
      fc.record({
        status: fc.constant('succeeded'),
        exitCode: fc.constant(0),
        error: fc.constant(null),
        outputs: fc.oneof(
          notObject,
          fc.record({ big: longText(65_536) }),
          fc.dictionary(fc.string(), fc.integer(), { minKeys: 1 }),
        ),
      }),
    );
    const agentCalls = fc.oneof(
      badInput({
        requestId: {
          ok: fc.constant(randomUUID()),
          bad: fc.oneof(notString, fc.string({ maxLength: 7 }), longText(100)),
        },
        waitMs: {
          ok: fc.constant(0),
          bad: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 60_001 }), notNumber),
          optional: true,
        },
        resend: {
          ok: fc.constant(false),
          bad: fc.oneof(
            notNumber.filter((v) => typeof v !== 'boolean'),
            fc.integer(),
          ),
          optional: true,
        },
      }).map((input) => ['agent.pull', input] as const),
      badInput({
        leases: {
          ok: fc.constant([]),
          bad: fc.oneof(
            notObject,
            fc.array(fc.record({ jobId: badJobId, attempt: fc.constant(1) }), { minLength: 1, maxLength: 3 }),
            fc.array(fc.record({ jobId: fc.constant(leased.jobId), attempt: badAttempt }), {
              minLength: 1,
              maxLength: 3,
            }),
            fc.constant(Array.from({ length: 257 }, () => ({ jobId: 'x', attempt: 1 }))),
          ),
        },
        disk: {
          ok: fc.constant(null),
          bad: fc.oneof(
            fc.record({
              workspaceBytes: fc.oneof(fc.double({ max: -0.001, noNaN: true }), notNumber),
              freeBytes: fc.nat(),
            }),
            fc.record({ workspaceBytes: fc.nat(), freeBytes: fc.oneof(fc.integer({ max: -1 }), notNumber) }),
            fc.string(),
          ),
          optional: true,
        },
      }).map((input) => ['agent.heartbeat', input] as const),
      badInput({
        jobId: { ok: otherJob, bad: badJobId },
        attempt: { ok: fc.constant(1), bad: badAttempt },
        chunks: {
          ok: fc.array(chunk, { minLength: 1, maxLength: 3 }),
          bad: fc.oneof(
            notObject,
            fc.constant([]),
            fc.array(badChunk, { minLength: 1, maxLength: 3 }),
            fc.constant(Array.from({ length: 257 }, (_, i) => ({ seq: i, offset: i, text: 'x' }))),
          ),
        },
      }).map((input) => ['agent.logs', input] as const),
      // A batch in good shape for the job the agent holds, at an attempt it does not hold.
      fc
        .record({
          jobId: fc.constant(leased.jobId),
          attempt: fc.integer({ min: 2, max: 2 ** 40 }),
          chunks: fc.array(chunk, { minLength: 1, maxLength: 3 }),
        })
        .map((input) => ['agent.logs', input] as const),
      badInput({
        jobId: { ok: otherJob, bad: badJobId },
        attempt: { ok: fc.constant(1), bad: badAttempt },
        result: { ok: result, bad: badResult },
      }).map((input) => ['agent.complete', input] as const),
      badInput({
        jobId: { ok: otherJob, bad: badJobId },
        attempt: { ok: fc.constant(1), bad: badAttempt },
      }).map((input) => ['agent.start', input] as const),
    );
    await property(agentCalls, ([path, input]) => refused(path, input, { token: tokens.agent }), 500);
    // The other agent holds no lease: it reads no run's outputs, and may not write to a's job.
    const other = fc.oneof(
      fc
        .record({
          runId: fc.oneof(
            fc.constant(runId),
            anyText.filter((r) => r.length > 0 && r.length <= 500),
          ),
          job: fc.constant('build'),
        })
        .map((input) => ['agent.outputs', 'query', input] as const),
      fc
        .record({
          jobId: fc.constant(leased.jobId),
          attempt: fc.constant(leased.attempt),
          chunks: fc.array(chunk, { minLength: 1, maxLength: 2 }),
        })
        .map((input) => ['agent.logs', 'mutation', input] as const),
      fc
        .record({ jobId: fc.constant(leased.jobId), attempt: fc.constant(leased.attempt), result })
        .map((input) => ['agent.complete', 'mutation', input] as const),
    );
    await property(other, ([path, kind, input]) => refused(path, input, { token: tokens.otherAgent, kind }), 150);
  });

  it('tokens: missing, unknown, malformed and misused tokens on every kind of call', async () => {
    const procedures = fc.constantFrom(
      ['runs.list', 'query', {}] as const,
      ['runs.get', 'query', { runId: 'inputs/1' }] as const,
      ['pipelines.list', 'query', undefined] as const,
      ['runs.trigger', 'mutation', { pipeline: 'inputs', inputs: { note: 'x' } }] as const,
      ['runs.cancel', 'mutation', { runId: 'inputs/1' }] as const,
      ['tokens.create', 'mutation', { name: 'x', role: 'admin' }] as const,
      ['agent.pull', 'mutation', { requestId: 'request-0001', waitMs: 0 }] as const,
      ['agent.heartbeat', 'mutation', { leases: [] }] as const,
      [
        'agent.complete',
        'mutation',
        { jobId: 'inputs/1/build', attempt: 1, result: { status: 'succeeded', exitCode: 0, error: null } },
      ] as const,
    );
    const badToken = fc.oneof(
      fc.constant(undefined),
      anyText,
      fc.string().map((s) => `hfu_${s}`),
      fc.string().map((s) => `hfa_${s}`),
      fc.constantFrom('hfu_', 'hfa_', 'Bearer', ' '),
    );
    await property(
      fc.tuple(procedures, badToken),
      async ([[path, kind, input], token]) =>
        refused(path, input, { token: token?.replace(/[^\x21-\x7e]/g, '') || undefined, kind }),
      250,
    );
    // Roles: a viewer changes nothing, a maintainer creates no token, agents call no user procedure.
    const misused = fc.constantFrom(
      ['runs.trigger', { pipeline: 'inputs', inputs: { note: 'x' } }, 'viewer'] as const,
      ['runs.cancel', { runId: 'inputs/1' }, 'viewer'] as const,
      ['tokens.create', { name: 'x', role: 'admin' }, 'maintainer'] as const,
      ['agents.suspend', { agentId: 'agent-x' }, 'viewer'] as const,
      ['runs.trigger', { pipeline: 'inputs', inputs: { note: 'x' } }, 'agent'] as const,
      ['agent.pull', { requestId: 'request-0001', waitMs: 0 }, 'maintainer'] as const,
    );
    await property(misused, ([path, input, who]) => refused(path, input, { token: tokens[who] }), 60);
  });

  it('raw HTTP: bodies that are not JSON, unknown paths, wrong methods', async () => {
    const paths = fc.oneof(
      fc.constantFrom(
        'runs.trigger',
        'agent.logs',
        'agent.complete',
        'pipelines.deploy',
        'agent.register',
        'tokens.create',
      ),
      anyText.filter((p) => p !== '.' && p !== '..').map((p) => encodeURIComponent(p.replace(/[\ud800-\udfff]/g, ''))),
    );
    const bodies = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }).filter((b) => {
        try {
          JSON.parse(b);
          return false;
        } catch {
          return true;
        }
      }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.constantFrom('{', '{"a":', '[1,', 'nul', '\u0000'),
    );
    const tokenOf = fc.constantFrom(undefined, 'maintainer', 'agent', 'admin') as fc.Arbitrary<
      undefined | 'maintainer' | 'agent' | 'admin'
    >;
    await property(
      fc.tuple(paths, bodies, tokenOf, fc.constantFrom('application/json', 'text/plain', 'application/octet-stream')),
      async ([path, body, who, type]) => {
        target.count();
        const before = await snapshot(store);
        const res = await fetch(`${coordinator.url}/trpc/${path}`, {
          method: 'POST',
          headers: { 'content-type': type, ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}) },
          body,
        });
        const json = (await res.json()) as { error?: { data?: { hiveforgeCode?: unknown } } };
        const what = `${path} ${JSON.stringify(body).slice(0, 100)}`;
        expect([what, res.status >= 400 && res.status < 500, json.error?.data?.hiveforgeCode]).toEqual([
          what,
          true,
          expect.stringMatching(/^HF_[A-Z_]+$/),
        ]);
        expect(await snapshot(store), what).toBe(before);
      },
      250,
    );
    // A mutation by GET and a query by POST.
    await refused('runs.trigger', { pipeline: 'inputs' }, { token: tokens.maintainer, kind: 'query' });
    await refused('runs.list', {}, { token: tokens.viewer, kind: 'mutation' });
  });
});
