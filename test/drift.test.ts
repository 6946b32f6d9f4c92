import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, createProcessExecutor } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';
import { jobLog } from './helpers/job-log.js';

describe('job mode checks the bundle against the stored spec', () => {
  let cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.reverse()) await fn();
    cleanup = [];
  });

  it('a bundle whose jobs differ from the analyzed spec fails the job with HF_SPEC_DRIFT', async () => {
    const analyzed = await packagePipeline(join(repoRoot, 'test/fixtures/drift-a/hiveforge.ts'));
    const other = await packagePipeline(join(repoRoot, 'test/fixtures/drift-b/hiveforge.ts'));
    const store = createMemoryStore();
    const coordinator = await createCoordinator({ store, agentSecret: 'secret' });
    cleanup.push(() => coordinator.close());
    const client = createUserClient(coordinator.url, await createUserToken(store, { name: 't', role: 'admin' }));
    // The sources say `build` has no retries; the bundle says 2.
    const deployed = await client.pipelines.deploy.mutate({
      entry: analyzed.entry,
      files: analyzed.files,
      bundle: other.bundle,
    });
    const workDir = await mkdtemp(join(tmpdir(), 'hiveforge-drift-'));
    cleanup.push(() => rm(workDir, { recursive: true, force: true }));
    const agent = createAgent({
      url: coordinator.url,
      registrationSecret: 'secret',
      workDir,
      executor: createProcessExecutor(),
      pullWaitMs: 1_000,
    });
    const running = agent.run();
    cleanup.push(async () => {
      await agent.stop({ cancel: true });
      await running;
    });
    const run = await client.runs.trigger.mutate({ pipeline: deployed.pipeline });
    let done = false;
    while (!done) done = (await client.runs.watch.query({ runId: run._id, waitMs: 2_000 })).done;
    const { run: final, jobs } = await client.runs.get.query({ runId: run._id });
    expect(final.status).toBe('failed');
    expect(jobs[0]?.error).toMatch(/^HF_SPEC_DRIFT: .*differ from the stored spec/);
    expect(jobs[0]?.error).toMatch(/retries=0/);
    expect(jobs[0]?.error).toMatch(/retries=2/);
    const logs = await jobLog(client, { runId: run._id, job: 'build' });
    expect(logs.map((l) => l.text).join('')).not.toMatch(/built/);
  });
});
