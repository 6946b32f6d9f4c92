import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgent, createProcessExecutor } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';

const fixture = join(repoRoot, 'test/fixtures/parallel-end');

/**
 * Jobs of 2.5 s against the default 2 s heartbeat: the agent's first heartbeat falls while both
 * run, so its next sleep is under way when they complete.
 */
describe('a run ends with its last jobs, however they complete', () => {
  it('two concurrent completions end the run at once, and the agent stops at once after them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-run-end-'));
    await using _dir = { [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
    const store = createMemoryStore();
    await using _store = { [Symbol.asyncDispose]: () => store.close() };
    // After its first heartbeat (at 2 s, while the jobs run) the agent sleeps 5 s.
    await using coordinator = await createCoordinator({
      store,
      agentSecret: 'a-secret-for-tests',
      schedules: false,
      scheduler: { heartbeatInterval: '5s', leaseTtl: '20s' },
    });
    const client = createUserClient(coordinator.url, await createUserToken(store, { name: 'root', role: 'admin' }));
    const pkg = await packagePipeline(join(fixture, 'hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    await using agent = createAgent({
      url: coordinator.url,
      registrationSecret: 'a-secret-for-tests',
      capacity: 2,
      workDir: dir,
      executor: createProcessExecutor(),
    });
    const running = agent.run();
    const run = await client.runs.trigger.mutate({ pipeline });
    let cursor: string | undefined;
    for (;;) {
      const batch = await client.runs.watch.query({ runId: run._id, cursor, waitMs: 5_000 });
      cursor = batch.cursor;
      if (batch.done) break;
    }
    const { run: ended, jobs } = await client.runs.get.query({ runId: run._id });
    expect(ended.status, JSON.stringify(jobs.map((j) => [j.name, j.state, j.error]))).toBe('succeeded');
    const lastJob = Math.max(...jobs.map((j) => j.finishedAt ?? Number.POSITIVE_INFINITY));
    expect((ended.finishedAt as number) - lastJob).toBeLessThan(100);
    const stopping = performance.now();
    await agent.stop();
    await running;
    expect(performance.now() - stopping).toBeLessThan(300);
  }, 30_000);

  it('hiveforge run exits soon after its last command ends', async () => {
    const r = await runCli(['run', fixture]);
    const exited = Date.now();
    expect(r.code).toBe(0);
    const ends = [...r.stdout.matchAll(/\| END (\d+)/g)].map((m) => Number(m[1]));
    expect(ends).toHaveLength(2);
    // Within a second of the last command: what is left is closing the coordinator and exiting.
    expect(exited - Math.max(...ends)).toBeLessThan(1_000);
  }, 60_000);
});
