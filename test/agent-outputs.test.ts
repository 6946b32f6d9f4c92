import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createAgentClient } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createHiveForgeClient, hiveforgeErrorCode } from '@hiveforge/coordinator/client';
import { packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const SECRET = 'a-registration-secret-for-outputs';

/** The HiveForge code a call failed with (it must fail). */
const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => 'succeeded',
    (error: unknown) => hiveforgeErrorCode(error),
  );

describe('agent.outputs (real HTTP, memory store)', () => {
  it("an agent reads outputs only of a run it holds a current lease in; another run's are HF_FORBIDDEN", async () => {
    const store = createMemoryStore();
    await using _closeStore = { [Symbol.asyncDispose]: () => store.close() };
    await using coordinator = await createCoordinator({ store, agentSecret: SECRET, scheduler: { pullWait: '200ms' } });
    const user = createHiveForgeClient({
      url: coordinator.url,
      token: await createUserToken(store, { name: 'mia', role: 'maintainer' }),
    });
    const pkg = await packagePipeline(join(repoRoot, 'test/fixtures/api/hiveforge.ts'));
    await user.pipelines.deploy.mutate({ entry: pkg.entry, files: pkg.files, bundle: pkg.bundle });
    const agent = async (name: string) => {
      const { token } = await createAgentClient({ url: coordinator.url, token: () => undefined }).agent.register.mutate(
        {
          secret: SECRET,
          name,
          labels: [],
          capacity: 1,
        },
      );
      return createAgentClient({ url: coordinator.url, token: () => token });
    };
    const a = await agent('a');
    const b = await agent('b');
    const pull = async (client: typeof a) => {
      const { lease } = await client.agent.pull.mutate({ requestId: randomUUID(), waitMs: 0 });
      if (!lease) throw new Error('no job was leased');
      return lease;
    };

    const first = await user.runs.trigger.mutate({ pipeline: 'api' });
    const second = await user.runs.trigger.mutate({ pipeline: 'api' });
    const aBuild = await pull(a);
    const bBuild = await pull(b);
    expect([aBuild.runId, bBuild.runId]).toEqual([first._id, second._id]);
    await a.agent.complete.mutate({
      jobId: aBuild.jobId,
      attempt: aBuild.attempt,
      result: { status: 'succeeded', exitCode: 0, error: null, outputs: { token: 'only-for-run-1' } },
    });

    // b holds a lease in the second run only; a's lease in the first run is over.
    expect(await codeOf(b.agent.outputs.query({ runId: first._id, job: 'build' }))).toBe('HF_FORBIDDEN');
    expect(await codeOf(a.agent.outputs.query({ runId: first._id, job: 'build' }))).toBe('HF_FORBIDDEN');
    expect(await codeOf(b.agent.outputs.query({ runId: 'api/404', job: 'build' }))).toBe('HF_FORBIDDEN');
    // Its own run's outputs, b reads.
    expect(await b.agent.outputs.query({ runId: second._id, job: 'build' })).toEqual({});

    // a leases the first run's next job: now it reads that run's outputs.
    const aTest = await pull(a);
    expect(aTest.runId).toBe(first._id);
    expect(await a.agent.outputs.query({ runId: first._id, job: 'build' })).toEqual({ token: 'only-for-run-1' });
    expect(await codeOf(a.agent.outputs.query({ runId: second._id, job: 'build' }))).toBe('HF_FORBIDDEN');
  });
});
