import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HIVEFORGE_VERSION } from '@hiveforge/agent';
import { createCoordinator, createMemoryStore, createUserToken } from '@hiveforge/coordinator';
import { createUserClient, packagePipeline } from 'hiveforge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './helpers/cli.js';
import { dockerForTests } from './helpers/docker.js';
import { startAgentProcess } from './helpers/services.js';

const fixture = join(repoRoot, 'test/fixtures/environment');
const agentSecret = randomBytes(16).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("each attempt's environment on record, and the agents' disk (real processes)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-environment-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two agents from one configuration print one hash; attempts record their fingerprint; heartbeats report disk', async () => {
    const store = createMemoryStore();
    await using _store = { [Symbol.asyncDispose]: () => store.close() };
    await using coordinator = await createCoordinator({
      store,
      agentSecret,
      schedules: false,
      scheduler: { heartbeatInterval: '200ms', pullWait: '1s' },
    });
    const client = createUserClient(coordinator.url, await createUserToken(store, { name: 'root', role: 'admin' }));
    const start = (name: string, args?: string[]) =>
      startAgentProcess({
        urls: [coordinator.url],
        agentSecret,
        name,
        workDir: join(dir, name),
        ...(args ? { args } : {}),
      });
    await using first = await start('first');
    await using second = await start('second');
    const hashOf = async (agent: typeof first) => (await agent.waitFor(/config hash (sha256:[0-9a-f]{16})/))[1];
    const hash = await hashOf(first);
    expect(await hashOf(second)).toBe(hash);
    {
      // A configuration that differs in what counts (the labels, the default image) has another hash.
      await using other = await start('other', ['--labels', 'gpu']);
      expect(await hashOf(other)).not.toBe(hash);
      await using imaged = await start('imaged', ['--default-image', 'hiveforge-test/busybox:1']);
      expect(await hashOf(imaged)).not.toBe(hash);
    }

    const pkg = await packagePipeline(join(fixture, 'hiveforge.ts'));
    const { pipeline } = await client.pipelines.deploy.mutate({
      entry: pkg.entry,
      files: pkg.files,
      bundle: pkg.bundle,
    });
    const run = await client.runs.trigger.mutate({ pipeline, only: ['flaky'] });
    for (let i = 0; ; i++) {
      if ((await client.runs.get.query({ runId: run._id })).run.status !== 'running') break;
      if (i > 300) throw new Error('the run did not end');
      await sleep(100);
    }
    const expected = {
      executor: 'process',
      imageTag: null,
      imageId: null,
      configHash: hash,
      hiveforgeVersion: HIVEFORGE_VERSION,
      nodeVersion: process.version,
    };
    const { run: ended, jobs } = await client.runs.get.query({ runId: run._id });
    expect(ended.status).toBe('succeeded');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ attempt: 2, fingerprint: { ...expected, attempt: 2 } });
    const attempts = await client.runs.attempts.query({ runId: run._id, job: 'flaky' });
    expect(attempts.map((a) => [a.attempt, a.status, a.fingerprint])).toEqual([
      [1, 'failed', expected],
      [2, 'succeeded', expected],
    ]);

    // Heartbeats carry the disk: the work directory's free space and the workspaces' size.
    let agents = await client.agents.list.query();
    for (let i = 0; agents.some((a) => a.disk === null) && i < 50; i++) {
      await sleep(100);
      agents = await client.agents.list.query();
    }
    const live = agents.filter((a) => a.name === 'first' || a.name === 'second');
    expect(live).toHaveLength(2);
    for (const agent of live) {
      expect(agent.disk?.freeBytes).toBeGreaterThan(0);
      expect(agent.disk?.workspaceBytes).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);

  it('a job writing past its disk quota fails with a clear error and its commands are stopped', async () => {
    const started = Date.now();
    const r = await runCli(['run', fixture, '--job', 'fill', '--job', 'small', '--work-dir', join(dir, 'run')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/fill\s+\| HF_DISK_QUOTA: workspace exceeded its disk quota of 1 MiB \(used 3 MiB\)/);
    expect(r.stdout).toMatch(/FILLED/);
    expect(r.stdout).not.toMatch(/FILL NOT STOPPED/);
    expect(r.stdout).toMatch(/^fill\s+failed\s+1\s+/m);
    expect(r.stdout).toMatch(/^small\s+succeeded\s+1\s+/m);
    // Stopped at the next check, not after its 20 s sleep.
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});

const engine = await dockerForTests();

describe.runIf(engine)("each attempt's environment through the docker executor (real engine)", () => {
  it('hiveforge run --verbose shows the image tag and id each job ran in', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-environment-docker-'));
    try {
      const r = await runCli(
        [
          'run',
          join(repoRoot, 'test/fixtures/docker'),
          '--job',
          'make',
          '--executor',
          'docker',
          '--verbose',
          '--work-dir',
          dir,
        ],
        { timeoutMs: 90_000 },
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const row = r.stdout.split('\n').find((l) => /^make\s+succeeded/.test(l));
      const [, tag, shortId] = row?.match(/\sdocker\s+(\S+) \(([0-9a-f]{12})\)\s+sha256:[0-9a-f]{16}\s/) ?? [];
      expect(tag, row).toBeTruthy();
      // The id is the engine's own for that tag.
      const id = execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', tag as string], { encoding: 'utf8' });
      expect(
        id
          .trim()
          .replace(/^sha256:/, '')
          .slice(0, 12),
      ).toBe(shortId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
